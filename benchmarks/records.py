"""Synthetic postal-mail records, the same for every contender, and the API's input shape.

Records are flat, as a CSV row or a JSONL line from a user's system would be: the unique
property ``external_id`` plus the documented postal-mail properties.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

ID_PROPERTY = "external_id"
BATCH = 100
OFFICES = ("Cork", "Graz", "Lyon", "Porto", "Turku")
KINDS = ("Complaint", "Contract", "Payment reminder", "Invoice", "Change of address")


def record(i: int) -> dict[str, str]:
    """The ``i``-th record: unique id, timestamp, body text, owner."""
    return {
        ID_PROPERTY: f"PM-{i:010d}",
        "hs_timestamp": f"2026-01-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
        "hs_postal_mail_body": (
            f"{KINDS[i % len(KINDS)]} posted to the {OFFICES[i % len(OFFICES)]} office, ref {i:06d}"
        ),
        "hubspot_owner_id": str(7001 + i % 5),
    }


def records(count: int, start: int = 0) -> Iterator[dict[str, str]]:
    for i in range(start, start + count):
        yield record(i)


def batches(count: int, size: int = BATCH) -> list[list[dict[str, str]]]:
    """``count`` batches of ``size`` distinct records."""
    return [list(records(size, start=n * size)) for n in range(count)]


def api_inputs(batch: list[dict[str, str]]) -> dict[str, Any]:
    """The request body for a batch of flat records: what every client ends up sending."""
    return {
        "inputs": [
            {
                "id": rec[ID_PROPERTY],
                "idProperty": ID_PROPERTY,
                "properties": {k: v for k, v in rec.items() if k != ID_PROPERTY},
            }
            for rec in batch
        ]
    }


def write_jsonl(path: Path, count: int, rows: Iterable[dict[str, str]] | None = None) -> Path:
    """``count`` records (or ``rows``), one JSON object a line, in chunks (never all in memory)."""
    with path.open("w", encoding="utf-8") as out:
        chunk: list[str] = []
        for rec in records(count) if rows is None else rows:
            chunk.append(json.dumps(rec))
            if len(chunk) == 10_000:
                out.write("\n".join(chunk) + "\n")
                chunk.clear()
        if chunk:
            out.write("\n".join(chunk) + "\n")
    return path
