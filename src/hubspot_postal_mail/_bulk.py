"""Bulk upsert: any number of records, in batches of at most 100, through HubSpot's limits.

The loop reads the input lazily into a bounded buffer (:class:`~._scheduler.Scheduler` decides
which records go next), sends batches concurrently through the resilient transport, and turns
each answer into per-record results (:mod:`._answers`, pure). A whole-batch 400 is split until
the bad records are alone. Finished positions go to the checkpoint before their ids are
released, so a later record with the same id is never marked finished before an earlier one.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from hubspot_postal_mail_client import AuthenticatedClient
from hubspot_postal_mail_client.api.batch import batch_upsert
from hubspot_postal_mail_client.models import BatchInputSimplePublicObjectBatchInputUpsert
from hubspot_postal_mail_client.types import Response

from ._answers import (
    KIND_CATEGORY,
    BatchAnswer,
    Item,
    Settled,
    error_context,
    map_answer,
    named_inputs,
    request_error,
)
from ._checkpoint import Checkpoint
from ._client import client_with_transport
from ._config import redact_logs, resolve_base_url, resolve_token
from ._pacing import AsyncPacer, RequestBudget
from ._records import InvalidRecord, normalise
from ._report import (
    Progress,
    RecordError,
    RecordResult,
    ReportWriter,
    StopReason,
    UpsertReport,
)
from ._retry_policy import STOPS_RUN, TRANSIENT, Kind, classify_exception, classify_status
from ._scheduler import Scheduler
from ._settings import UpsertSettings
from ._transport import VERDICT, AsyncResilientTransport, Verdict

log = logging.getLogger("hubspot_postal_mail")  # one logger: see config.LOGGERS

SPLIT_STATUSES = frozenset({400, 413})


async def _aiter(records: Iterable[Any] | AsyncIterable[Any]) -> AsyncIterator[Any]:
    if isinstance(records, AsyncIterable):
        async for record in records:
            yield record
    else:
        for record in records:
            yield record


class _PreparedBody(BatchInputSimplePublicObjectBatchInputUpsert):
    """The generated request model, serialised from plain dicts built once.

    ``batch_upsert`` sends ``body.to_dict()``; building a model per input only to turn it back
    into the same dict cost a third of the runtime's CPU per batch. The dicts are what the
    generated models' ``to_dict`` gives (a test holds the two equal).
    """

    def __init__(self, items: list[Item], id_property: str) -> None:
        super().__init__(inputs=[])
        self._dicts = [
            {
                "id": item.rec.id,
                "properties": item.rec.properties,
                "idProperty": id_property,
                "objectWriteTraceId": str(item.seq),
            }
            for item in items
        ]

    def to_dict(self) -> dict[str, Any]:
        return {"inputs": self._dicts}


def _body(items: list[Item], id_property: str) -> BatchInputSimplePublicObjectBatchInputUpsert:
    return _PreparedBody(items, id_property)


class _Sender:
    """Sends one batch and settles it: the only part of a run that talks to HubSpot."""

    def __init__(
        self, client: AuthenticatedClient, id_property: str, redact: Callable[[str], str]
    ) -> None:
        self.client = client
        self.id_property = id_property
        self.redact = redact

    async def send(self, items: list[Item]) -> Settled:
        try:
            response = await batch_upsert.asyncio_detailed(
                client=self.client, body=_body(items, self.id_property)
            )
        except httpx.TransportError as exc:  # the transport's retries ran out
            kind = classify_exception(exc)
            message = self.redact(f"{type(exc).__name__}: {exc}")
            if kind is Kind.FATAL:
                return Settled(
                    unresolved=list(items), stop=(StopReason.CANNOT_SEND, f"cannot send: {message}")
                )
            error = RecordError(KIND_CATEGORY[kind], f"retries ran out: {message}")
            return Settled().fail(items, error, final=False)
        status = int(response.status_code)
        kind = _verdict(response)
        if kind is Kind.OK:
            return map_answer(
                items,
                status,
                response.content,
                lambda: response.parsed,
                id_property=self.id_property,
                redact=self.redact,
            )
        error = request_error(status, response.content, response.parsed, kind, self.redact)
        if kind in STOPS_RUN:
            if kind is Kind.DAILY_LIMIT:
                reason, what = StopReason.DAILY_LIMIT, "daily request limit reached"
            else:
                reason, what = StopReason.UNAUTHORISED, "not authorised"
            stop = f"{what} (HTTP {status} {error.category}): {error.message}"
            return Settled(unresolved=list(items), stop=(reason, stop))
        if kind in TRANSIENT:
            return Settled().fail(items, error, final=False)
        if status in SPLIT_STATUSES and len(items) > 1:
            return await self._split(items, response, error)
        return Settled().fail(items, error, final=True)

    async def _split(
        self, items: list[Item], response: Response[BatchAnswer], error: RecordError
    ) -> Settled:
        """A whole batch refused: drop the inputs the error names, else bisect."""
        named = named_inputs(error_context(response.parsed), items)
        if named and len(named) < len(items):
            rest = [item for item in items if item not in named]
            return Settled().fail(named, error, final=True).merge(await self.send(rest))
        middle = len(items) // 2
        left, right = await asyncio.gather(self.send(items[:middle]), self.send(items[middle:]))
        return left.merge(right)


def _verdict(response: Response[BatchAnswer]) -> Kind:
    """The transport's verdict on the answer; classified here only if it came another way."""
    verdict = response.extensions.get(VERDICT)
    if isinstance(verdict, Verdict):
        return verdict.kind
    return classify_status(int(response.status_code), response.headers, response.content)


class _Run:
    """The loop of one run: read, schedule, send, settle; see the module docstring."""

    def __init__(
        self,
        *,
        sender: _Sender,
        settings: UpsertSettings,
        report: UpsertReport,
        checkpoint: Checkpoint | None,
        writer: ReportWriter,
        on_progress: Callable[[Progress], None] | None,
        redact: Callable[[str], str],
        stop_requested: threading.Event | None = None,
    ) -> None:
        self.sender = sender
        self.settings = settings
        self.report = report
        self.checkpoint = checkpoint
        self.writer = writer
        self.on_progress = on_progress
        self.redact = redact
        self.stop_requested = stop_requested
        self.schedule = Scheduler(settings.batch_size)
        self.read = 0
        self.concurrency = settings.concurrency
        self.read_ahead = max(2 * settings.batch_size * settings.concurrency, settings.batch_size)

    @property
    def stopping(self) -> bool:
        return self.report.stop_reason is not None

    def accept(self, seq: int, raw: Any) -> None:
        self.read += 1
        if self.checkpoint is not None and self.checkpoint.is_done(seq):
            self.report.resumed += 1
            return
        record = normalise(raw, id_property=self.settings.id_property, line=seq + 1)
        if isinstance(record, InvalidRecord):
            self.write(record.result(self.redact))
            self.schedule.finished.append(seq)
            return
        self.schedule.add(Item(seq, record))

    def write(self, result: RecordResult) -> None:
        self.writer.write(result)
        self.report.add(result)

    def settle(self, batch: list[Item], settled: Settled) -> None:
        for item, result, final in settled.results:
            self.write(result)
            self.schedule.settle(item, result, final=final)
        self.report.unfinished += len(settled.unresolved)
        if settled.stop is not None and not self.stopping:
            self.report.stop(*settled.stop)
            log.warning("stopping early: %s", settled.stop[1])
        self.writer.flush()
        self.flush_checkpoint()  # before the ids are released: see _checkpoint.py
        self.schedule.release(batch)
        self.progress()

    def flush_checkpoint(self) -> None:
        finished = self.schedule.take_finished()
        if self.checkpoint is not None and finished:
            self.checkpoint.mark(finished)

    def progress(self) -> None:
        if self.on_progress is not None:
            self.on_progress(
                self.report.snapshot(read=self.read, in_flight=self.schedule.in_flight_records)
            )

    def _may_send(self, in_flight: int, exhausted: bool) -> bool:
        s = self.schedule
        return (
            not self.stopping
            and in_flight < self.concurrency
            and s.eligible > 0
            and (s.eligible >= s.batch_size or exhausted or s.pending_records >= self.read_ahead)
        )

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
                if not self.stopping and self.stop_requested and self.stop_requested.is_set():
                    # Send nothing new; let batches in flight finish.
                    self.report.stop(StopReason.INTERRUPTED, "stop requested")
                while not exhausted and not self.stopping and s.pending_records < self.read_ahead:
                    try:
                        raw = next(sync_source) if sync_source is not None else await anext(source)  # type: ignore[arg-type]
                    except (StopIteration, StopAsyncIteration):
                        exhausted = True
                        break
                    self.accept(seq, raw)
                    seq += 1
                    free = max(1, self.concurrency - len(tasks))
                    if s.eligible >= s.batch_size * free:
                        break
                while self._may_send(len(tasks), exhausted):
                    batch = s.take_batch()
                    tasks[asyncio.ensure_future(self.sender.send(batch))] = batch
                if not tasks:
                    if exhausted or self.stopping:
                        break
                    continue
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    self.settle(tasks.pop(task), task.result())
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            self.flush_checkpoint()
        self.report.unfinished += s.pending_records
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
    batches in flight finish, ``stop_reason`` is ``INTERRUPTED``; rerun with the checkpoint.
    """
    if isinstance(records, str | bytes) or hasattr(records, "__fspath__"):
        raise TypeError("records must be an iterable of records; use read_records(path)")
    settings = UpsertSettings.of(settings, **options)
    if settings.dry_run:
        from ._dry_run import plan

        if not isinstance(records, Iterable):
            raise TypeError("a dry run reads its records synchronously: pass an iterable")
        return plan(records, settings, on_progress=on_progress).report
    secret = resolve_token(settings.token)
    url = resolve_base_url(settings.base_url)
    report = UpsertReport()
    resilient = AsyncResilientTransport(
        settings.transport,
        policy=settings.retry_policy,
        pacer=AsyncPacer(RequestBudget(settings.rate_limit)),
        stats=report,
        timeout=settings.http_timeout,
    )
    with redact_logs(secret) as redaction:
        store = (
            Checkpoint(settings.checkpoint, id_property=settings.id_property)
            if settings.checkpoint
            else None
        )
        writer = ReportWriter(
            settings.report, append=bool(store and store.resumed), redact=redaction.redact
        )
        try:
            async with client_with_transport(
                secret, url, resilient, timeout=settings.http_timeout
            ) as client:
                run = _Run(
                    sender=_Sender(client, settings.id_property, redaction.redact),
                    settings=settings,
                    report=report,
                    checkpoint=store,
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
