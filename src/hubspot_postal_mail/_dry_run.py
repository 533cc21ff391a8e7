"""``--dry-run``: read, validate and batch the input as a real run would, and send nothing.

Each record is checked by the same rules as a real run (:func:`~.records.normalise`); the
report says ``failed`` for a record that would be refused before sending and ``skipped`` with
``"would_send": true`` for one that would go out. ``batches`` is how many requests it takes at
least: up to 100 records each, never the same id twice in one. HubSpot may still refuse what
only it can check (unknown properties, option values), so a clean dry run is not a promise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._checkpoint import Checkpoint
from ._records import InvalidRecord, normalise
from ._report import (
    Outcome,
    Progress,
    RecordResult,
    ReportWriter,
    UpsertReport,
)
from ._settings import UpsertSettings

_PROGRESS_EVERY = 500  # records between two progress snapshots


@dataclass
class Plan:
    """What a real run would do: the counts as a report, plus what it would send."""

    report: UpsertReport
    would_send: int = 0
    batches: int = 0


def plan(
    records: Iterable[Any],
    settings: UpsertSettings,
    *,
    on_progress: Callable[[Progress], None] | None = None,
) -> Plan:
    """Go through ``records`` as a run would (skipping what the checkpoint says is done)."""
    done = _done_positions(settings.checkpoint, settings.id_property)
    result = Plan(UpsertReport())
    counts = result.report
    batch: set[str] = set()
    writer = ReportWriter(settings.report, append=False, redact=str)
    read = 0
    try:
        for seq, raw in enumerate(records):
            read = seq + 1
            if done is not None and done.is_done(seq):
                counts.resumed += 1
                continue
            record = normalise(raw, id_property=settings.id_property, line=seq + 1)
            if isinstance(record, InvalidRecord):
                entry = record.result()
            else:
                if len(batch) >= settings.batch_size or record.id in batch:
                    batch.clear()
                if not batch:
                    result.batches += 1
                batch.add(record.id)
                result.would_send += 1
                entry = RecordResult(
                    record.line, record.id, Outcome.SKIPPED, properties=record.properties
                )
            counts.add(entry)
            writer.write(entry)
            if on_progress is not None and read % _PROGRESS_EVERY == 0:
                on_progress(counts.snapshot(read=read))
    finally:
        writer.close()
        if done is not None:
            done.close()
    if on_progress is not None:
        on_progress(counts.snapshot(read=read))
    counts.finish()
    return result


def _done_positions(path: Path | None, id_property: str) -> Checkpoint | None:
    """An existing checkpoint, read to skip what an earlier run finished; never created here."""
    if path is None or not path.exists():
        return None
    return Checkpoint(path, id_property=id_property)
