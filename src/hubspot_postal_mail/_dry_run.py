"""``--dry-run``: read, validate and batch the input as a real run would, and send nothing.

Each record is checked by the same rules as a real run (:func:`~._records.normalise`); the
report says ``failed`` for a record that would be refused before sending and ``skipped`` with
``"would_send": true`` and its properties for one that would go out. ``batches`` is how many
requests it takes at least: up to 100 records each, never the same id twice in one. With a
sync state (read only: nothing is written to it), a record it says HubSpot already holds is
``unchanged``, and the others are counted as creates (an id it has never confirmed) or updates.
HubSpot may still refuse what only it can check (unknown properties, option values), so a clean
dry run is not a promise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ._answers import Item
from ._config import resolve_base_url
from ._incremental import Incremental
from ._records import InvalidRecord, normalise
from ._report import Outcome, Progress, RecordResult, ReportWriter, UpsertReport
from ._settings import UpsertSettings
from ._state import LOOKUP_CHUNK, State

_PROGRESS_EVERY = 500  # records between two progress snapshots


@dataclass
class Plan:
    """What a real run would do: the counts as a report, plus what it would send."""

    report: UpsertReport
    would_send: int = 0
    would_create: int = 0
    would_update: int = 0
    batches: int = 0


class _Planner:
    def __init__(self, settings: UpsertSettings, writer: ReportWriter, state: State | None) -> None:
        self.settings = settings
        self.writer = writer
        self.state = state
        self.incremental = None if state is None else Incremental(state, full=settings.full)
        self.plan = Plan(UpsertReport())
        self.batch: set[str] = set()
        self.undecided: list[Item] = []

    def add(self, result: RecordResult) -> None:
        self.plan.report.add(result)
        self.writer.write(result)

    def would_send(self, item: Item) -> None:
        plan = self.plan
        if len(self.batch) >= self.settings.batch_size or item.rec.id in self.batch:
            self.batch.clear()
        if not self.batch:
            plan.batches += 1
        self.batch.add(item.rec.id)
        plan.would_send += 1
        rec = item.rec
        self.add(RecordResult(rec.line, rec.id, Outcome.SKIPPED, properties=rec.properties))

    def decide(self) -> None:
        items, self.undecided = self.undecided, []
        if self.incremental is None or self.state is None:
            for item in items:
                self.would_send(item)
            return
        send, unchanged = self.incremental.decide(items, None)  # a plan sends nothing
        known = set(self.state.lookup([item.rec.id for item in send]))
        alike = {item.seq for item in unchanged}
        object_ids = self.incremental.object_ids(unchanged)
        for item in sorted([*send, *unchanged], key=lambda item: item.seq):
            if item.seq in alike:
                key = item.rec.id
                self.add(RecordResult(item.rec.line, key, Outcome.UNCHANGED, object_ids.get(key)))
                continue
            if item.rec.id in known:
                self.plan.would_update += 1
            else:
                self.plan.would_create += 1
                known.add(item.rec.id)  # a second line for it would update what the first made
            self.would_send(item)


def plan(
    records: Iterable[Any],
    settings: UpsertSettings,
    *,
    on_progress: Callable[[Progress], None] | None = None,
) -> Plan:
    """Go through ``records`` as a run would; the state, if any, is read and never written."""
    state = (
        State(
            settings.state,
            base_url=resolve_base_url(settings.base_url),
            id_property=settings.id_property,
            readonly=True,
        )
        if settings.state is not None
        else None
    )
    writer = ReportWriter(settings.report, redact=str)
    planner = _Planner(settings, writer, state)
    counts = planner.plan.report
    read = 0
    try:
        for seq, raw in enumerate(records):
            read = seq + 1
            record = normalise(
                raw, id_property=settings.id_property, line=seq + 1, rules=settings.rules
            )
            if isinstance(record, InvalidRecord):
                planner.decide()  # keep the report in input order
                planner.add(record.result())
            else:
                planner.undecided.append(Item(seq, record))
                if len(planner.undecided) >= LOOKUP_CHUNK:
                    planner.decide()
            if on_progress is not None and read % _PROGRESS_EVERY == 0:
                on_progress(counts.snapshot(read=read))
        planner.decide()
    finally:
        writer.close()
        if state is not None:
            state.close()
    if on_progress is not None:
        on_progress(counts.snapshot(read=read))
    counts.finish()
    return planner.plan
