"""``--dry-run``: read, validate and batch the input as a real run would, and send nothing.

Each record is checked by the same rules as a real run (:func:`~.records.normalise`); the
report says ``failed`` for a record that would be refused before sending and ``skipped`` with
``"would_send": true`` for one that would go out. ``batches`` is how many requests it takes at
least: up to 100 records each, never the same id twice in one. HubSpot may still refuse what
only it can check (unknown properties, option values), so a clean dry run is not a promise.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._bulk import MAX_BATCH, Progress
from ._checkpoint import Checkpoint
from ._records import InvalidRecord, normalise
from ._report import Outcome, RecordError, RecordResult, UpsertReport

_PROGRESS_EVERY = 500  # records between two progress snapshots


@dataclass
class Plan:
    """What a real run would do: the counts as a report, plus what it would send."""

    report: UpsertReport
    would_send: int = 0
    batches: int = 0


def plan(
    records: Iterable[Any],
    *,
    id_property: str,
    report: Path | None = None,
    checkpoint: Path | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> Plan:
    """Go through ``records`` as a run would (skipping what ``checkpoint`` says is done)."""
    started = time.monotonic()
    done = _done_positions(checkpoint, id_property)
    result = Plan(UpsertReport())
    counts = result.report
    batch: set[str] = set()
    out = report.open("w", encoding="utf-8") if report is not None else None
    try:
        for seq, raw in enumerate(records):
            if done is not None and done.is_done(seq):
                counts.resumed += 1
                continue
            record = normalise(raw, id_property=id_property, line=seq + 1)
            if isinstance(record, InvalidRecord):
                entry = RecordResult(
                    record.line,
                    record.id,
                    Outcome.FAILED,
                    error=RecordError("INVALID_INPUT", record.reason),
                )
                extra: dict[str, Any] = {}
            else:
                if len(batch) >= MAX_BATCH or record.id in batch:
                    batch.clear()
                if not batch:
                    result.batches += 1
                batch.add(record.id)
                result.would_send += 1
                entry = RecordResult(record.line, record.id, Outcome.SKIPPED)
                extra = {"would_send": True}
            counts.add(entry)
            if out is not None:
                out.write(json.dumps(entry.to_dict() | extra, ensure_ascii=False) + "\n")
            if on_progress is not None and (seq + 1) % _PROGRESS_EVERY == 0:
                on_progress(_snapshot(counts, seq + 1, started))
    finally:
        if out is not None:
            out.close()
        if done is not None:
            done.close()
    counts.elapsed_s = time.monotonic() - started
    if on_progress is not None:
        on_progress(_snapshot(counts, counts.total + counts.resumed, started))
    return result


def _done_positions(path: Path | None, id_property: str) -> Checkpoint | None:
    """An existing checkpoint, read to skip what an earlier run finished; never created here."""
    if path is None or not path.exists():
        return None
    return Checkpoint(path, id_property=id_property)


def _snapshot(counts: UpsertReport, read: int, started: float) -> Progress:
    return Progress(
        read=read,
        done=counts.total,
        created=0,
        updated=0,
        failed=counts.failed,
        skipped=counts.skipped,
        resumed=counts.resumed,
        in_flight=0,
        requests=0,
        retries=0,
        rate_limited=0,
        elapsed_s=time.monotonic() - started,
    )
