"""Bulk upsert: any number of records, in batches of at most 100, through HubSpot's limits.

The loop reads the input lazily into a bounded buffer (:class:`~._scheduler.Scheduler` decides
which records go next), sends batches concurrently (:mod:`._sending`: one batch, its answer,
its splits), and settles each: the report, the counts, the state. With a sync state
(:mod:`._incremental`), a record HubSpot already holds is not sent, and what HubSpot confirms
is recorded before the id is released.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ._answers import Item, Settled
from ._client import client_with_transport
from ._concurrency import Concurrency
from ._config import redact_logs, resolve_base_url, resolve_token
from ._incremental import Incremental
from ._pacing import AsyncPacer, build_pacer
from ._readers import records_from
from ._records import InvalidRecord, normalise
from ._report import (
    Outcome,
    Progress,
    RecordResult,
    ReportWriter,
    StopReason,
    UpsertReport,
)
from ._scheduler import Scheduler
from ._sending import Sender
from ._settings import UpsertSettings
from ._state import LOOKUP_CHUNK, State
from ._transport import AsyncResilientTransport, Reachability

log = logging.getLogger("hubspot_postal_mail")  # one logger: see config.LOGGERS


async def _aiter(records: Iterable[Any] | AsyncIterable[Any]) -> AsyncIterator[Any]:
    if isinstance(records, AsyncIterable):
        async for record in records:
            yield record
    else:
        for record in records:
            yield record


class _Run:
    """The loop of one run: read, schedule, send, settle; see the module docstring."""

    STOP_POLL_S = 0.2  # how soon a caller's stop request is seen while batches are in flight
    # Records read before the loop looks up: progress, stop requests, signals (an unchanged
    # rerun sends nothing, so without this it would read its whole input in one go).
    READ_SLICE = 1_000

    def __init__(
        self,
        *,
        sender: Sender,
        settings: UpsertSettings,
        report: UpsertReport,
        pacer: AsyncPacer,
        concurrency: Concurrency,
        incremental: Incremental | None,
        writer: ReportWriter,
        on_progress: Callable[[Progress], None] | None,
        redact: Callable[[str], str],
        stop_requested: threading.Event | None = None,
    ) -> None:
        self.sender = sender
        self.settings = settings
        self.report = report
        self.pacer = pacer
        self.concurrency = concurrency
        self.incremental = incremental
        self.undecided: list[Item] = []  # valid records the state has yet to look at
        self.writer = writer
        self.on_progress = on_progress
        self.redact = redact
        self.stop_requested = stop_requested
        self.schedule = Scheduler(settings.batch_size)
        self.read = 0
        self.released: set[int] = set()  # positions settled early, by a part of their batch
        self.woken: asyncio.Future[None] | None = None  # what the loop waits on, besides tasks
        sender.on_part = self.settle_part

    @property
    def stopping(self) -> bool:
        return self.report.stop_reason is not None

    def stop(self, reason: StopReason, message: str) -> None:
        """Send nothing new; requests waiting for a slot or a retry end at once."""
        if not self.stopping:
            self.report.stop(reason, message)
            if reason is not StopReason.INTERRUPTED:
                log.warning("stopping early: %s", message)
        self.pacer.close()

    def accept(self, seq: int, raw: Any) -> None:
        self.read += 1
        record = normalise(
            raw, id_property=self.settings.id_property, line=seq + 1, rules=self.settings.rules
        )
        if isinstance(record, InvalidRecord):
            self.write(record.result(self.redact))
        elif self.incremental is None:
            self.schedule.add(Item(seq, record))
        else:
            self.undecided.append(Item(seq, record))
            if len(self.undecided) >= LOOKUP_CHUNK:
                self.decide()

    def decide(self) -> None:
        """The state's verdict on the records read so far: unchanged ones are not sent."""
        if self.incremental is None or not self.undecided:
            return
        items, self.undecided = self.undecided, []
        s = self.schedule
        send, unchanged = self.incremental.decide(
            items, s.busy if s.pending or s.in_flight else None
        )
        for item in send:
            self.schedule.add(item)
        if not self.writer.active:  # nobody reads their lines: an unchanged rerun's fast path
            self.report.add_unchanged(len(unchanged))
            return
        object_ids = self.incremental.object_ids(unchanged)
        for item in unchanged:
            key = item.rec.id
            self.write(RecordResult(item.rec.line, key, Outcome.UNCHANGED, object_ids.get(key)))

    def write(self, result: RecordResult) -> None:
        self.writer.write(result)
        self.report.add(result)

    def send(self, batch: list[Item]) -> asyncio.Task[Settled]:
        if self.incremental is not None:
            self.incremental.before_send(batch)
        return asyncio.ensure_future(self.sender.send_batch(batch))

    def settle(self, batch: list[Item], settled: Settled) -> None:
        """A batch's task is done: settle what its parts left (see :meth:`settle_part`)."""
        if self.released:
            rest = [item for item in batch if item.seq not in self.released]
            self.released.difference_update(item.seq for item in batch)
            batch = rest
        self._settle(batch, settled)

    def settle_part(self, settled: Settled) -> None:
        """A part of a batch still being split is settled: its records are done now, and the
        loop wakes to send what waited for their ids."""
        items = [item for item, _result, _final in settled.results] + settled.unresolved
        self.released.update(item.seq for item in items)
        self._settle(items, settled)
        if self.woken is not None and not self.woken.done():
            self.woken.set_result(None)

    def _settle(self, batch: list[Item], settled: Settled) -> None:
        """Report each result; tell the state; only then let the records' ids go out again.

        The report is flushed before the state confirms anything: a full disk stops the run
        with the records unconfirmed, so a rerun sends (and reports) them again.
        """
        for _item, result, _final in settled.results:
            self.write(result)
        self.writer.flush()
        if self.incremental is not None:
            self.incremental.settled(settled.results, settled.unresolved)
        self.report.unfinished += len(settled.unresolved)
        if settled.stop is not None:
            self.stop(*settled.stop)
        self.schedule.release(batch)
        self.progress()

    def progress(self) -> None:
        if self.on_progress is not None:
            self.on_progress(
                self.report.snapshot(read=self.read, in_flight=self.schedule.in_flight_records)
            )

    def _may_send(self, in_flight: int, limit: int, read_ahead: int, exhausted: bool) -> bool:
        s = self.schedule
        return (
            not self.stopping
            and in_flight < limit
            and s.eligible > 0
            and (s.eligible >= s.batch_size or exhausted or s.pending_records >= read_ahead)
        )

    def _check_stop_request(self) -> None:
        if not self.stopping and self.stop_requested is not None and self.stop_requested.is_set():
            self.stop(StopReason.INTERRUPTED, "stop requested")

    async def run(self, records: Iterable[Any] | AsyncIterable[Any]) -> UpsertReport:
        # A plain iterable is read with next(): an async generator around it would cost an
        # await per record.
        sync_source = iter(records) if isinstance(records, Iterable) else None
        source = _aiter(records) if sync_source is None else None
        tasks: dict[asyncio.Task[Settled], list[Item]] = {}
        exhausted = False
        seq = 0
        s = self.schedule
        try:
            while True:
                self._check_stop_request()
                limit = self.concurrency.limit  # read once a round: it costs, per record
                read_ahead = 2 * s.batch_size * limit
                enough = s.batch_size * max(1, limit - len(tasks))  # eligible ids to fill them
                reading = not exhausted and not self.stopping
                slice_left = self.READ_SLICE if reading else 0
                while slice_left and s.pending_records < read_ahead:
                    try:
                        raw = next(sync_source) if sync_source is not None else await anext(source)  # type: ignore[arg-type]
                    except (StopIteration, StopAsyncIteration):
                        exhausted = True
                        break
                    self.accept(seq, raw)
                    seq += 1
                    slice_left -= 1
                    if len(s.pending) - s.blocked >= enough:  # s.eligible, without the call
                        break
                self.decide()
                while self._may_send(len(tasks), limit, read_ahead, exhausted):
                    batch = s.take_batch()
                    tasks[self.send(batch)] = batch
                sliced = reading and not slice_left and not exhausted
                if sliced:  # a long stretch read without a request (records unchanged, invalid)
                    self.progress()
                if not tasks:
                    if exhausted or self.stopping:
                        break
                    if sliced:
                        await asyncio.sleep(0)  # a signal handler or a stop request gets its turn
                    continue
                if sliced:  # look at the answers in, but never wait for one: reading goes on
                    timeout: float | None = 0
                else:
                    timeout = None if self.stop_requested is None else self.STOP_POLL_S
                self.woken = asyncio.get_running_loop().create_future()
                waiting: list[asyncio.Future[Any]] = [*tasks, self.woken]
                done, _ = await asyncio.wait(
                    waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                for task in [task for task in tasks if task in done]:
                    self.settle(tasks.pop(task), task.result())
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        self.report.unfinished += s.pending_records + len(self.undecided)
        return self.report


async def aupsert_all(
    records: Iterable[Any] | AsyncIterable[Any],
    settings: UpsertSettings | None = None,
    /,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    stop: threading.Event | None = None,
    **options: Any,
) -> UpsertReport:
    """Upsert every record, keyed by the unique property ``id_property``; see the module doc.

    ``records``: mappings (flat, or in the API's input shape), generated input models, or
    :class:`~hubspot_postal_mail.SourceLine` from the readers; read lazily.
    ``settings`` and ``options``: an :class:`UpsertSettings`, its fields by name, or both (the
    names win), e.g. ``aupsert_all(rows, id_property="external_id", rate_limit="190/10")``.
    ``on_progress``: called with a :class:`Progress` snapshot as the run goes.
    ``stop``: set it (from any thread, e.g. on Ctrl+C) to stop early: no new batch is sent,
    batches in flight finish, ``stop_reason`` is ``INTERRUPTED``; rerun with the state.
    """
    if isinstance(records, str | bytes) or hasattr(records, "__fspath__"):
        raise TypeError("records must be an iterable of records; use read_records(path)")
    settings = UpsertSettings.of(settings, **options)
    arrow = records_from(
        records,
        id_property=settings.id_property,
        empty=settings.empty,
        assume_timezone=settings.assume_timezone,
    )
    if arrow is not None:  # a pyarrow table or reader, a pandas or polars DataFrame
        records = arrow
    if settings.dry_run:
        from ._dry_run import plan

        if not isinstance(records, Iterable):
            raise TypeError("a dry run reads its records synchronously: pass an iterable")
        return plan(records, settings, on_progress=on_progress).report
    secret = resolve_token(settings.token)
    url = resolve_base_url(settings.base_url)
    report = UpsertReport()
    pacer = await build_pacer(settings.rate_limit, secret, settings.shared_budget)
    concurrency = Concurrency(
        pacer.budget, None if settings.concurrency == "auto" else settings.concurrency
    )
    failures, seconds = settings.unreachable_after
    reachability = Reachability(failures, seconds)
    resilient = AsyncResilientTransport(
        settings.transport,
        policy=settings.retry_policy,
        pacer=pacer,
        stats=report,
        timeout=settings.http_timeout,
        deadline=settings.attempt_deadline,
        reachability=reachability,
    )
    with redact_logs(secret) as redaction:
        store = (
            State(settings.state, base_url=url, id_property=settings.id_property)
            if settings.state is not None
            else None
        )
        incremental = None if store is None else Incremental(store, full=settings.full)
        writer = ReportWriter(settings.report, redact=redaction.redact)
        try:
            async with client_with_transport(
                secret, url, resilient, timeout=settings.http_timeout
            ) as client:
                sender = Sender(
                    client,
                    settings.id_property,
                    redaction.redact,
                    reachability=reachability,
                    on_round_trip=concurrency.observe,
                )
                run = _Run(
                    sender=sender,
                    settings=settings,
                    report=report,
                    pacer=pacer,
                    concurrency=concurrency,
                    incremental=incremental,
                    writer=writer,
                    on_progress=on_progress,
                    redact=redaction.redact,
                    stop_requested=stop,
                )
                report.listener = run.progress
                await run.run(records)
        finally:
            report.listener = None
            writer.close()
            if store is not None:
                store.close()
            if (aclose := getattr(pacer, "aclose", None)) is not None:
                await aclose()  # a shared budget's connection
    report.shared_budget_fallback = getattr(pacer, "fallback_reason", None)
    return report.finish()


def upsert_all(
    records: Iterable[Any],
    settings: UpsertSettings | None = None,
    /,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    stop: threading.Event | None = None,
    **options: Any,
) -> UpsertReport:
    """The blocking form of :func:`aupsert_all` (it runs that on an event loop of its own)."""
    work = aupsert_all(records, settings, on_progress=on_progress, stop=stop, **options)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(work)
    # Called from inside an event loop (a notebook, an async app): run on a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work).result()
