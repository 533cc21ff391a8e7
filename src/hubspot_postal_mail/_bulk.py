"""Bulk upsert: any number of records, in batches of at most 100, through HubSpot's limits.

One coordinator reads the input lazily and keeps a bounded buffer of pending records, queued
per id in input order. A batch takes the oldest pending record of each id not already in
flight, so two inputs with the same id never share a request, and a record never overtakes an
earlier one with its id: the last occurrence in the input is the last one written. Every
occurrence is sent (none is coalesced away): if a later one is refused by HubSpot, the value of
the last accepted one stays, exactly as if the records had been sent one by one.

Each input carries its position as ``objectWriteTraceId``, so 200, 207 and 200-with-errors
answers map back to records whatever their order; a whole-batch 400 is split until the bad
records are alone. Finished positions go to the checkpoint before their ids are released.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import httpx
from hubspot_postal_mail_client import AuthenticatedClient
from hubspot_postal_mail_client.api.batch import batch_upsert
from hubspot_postal_mail_client.models import (
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchResponseSimplePublicUpsertObject,
    BatchResponseSimplePublicUpsertObjectWithErrors,
    Error,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectBatchInputUpsertProperties,
    StandardError,
)
from hubspot_postal_mail_client.types import Response, Unset

from ._checkpoint import Checkpoint
from ._client import client_with_transport
from ._config import (
    ConfigError,
    RedactingFilter,
    Secret,
    redact_logs,
    resolve_base_url,
    resolve_token,
)
from ._pacing import AsyncPacer, RateLimit, RequestBudget
from ._records import InvalidRecord, UpsertInput, normalise
from ._report import Outcome, RecordError, RecordResult, ReportTarget, ReportWriter, UpsertReport
from ._retry_policy import STOPS_RUN, TRANSIENT, Kind, RetryPolicy, classify_exception
from ._retry_policy import classify_status as classify
from ._stats import RequestStats
from ._transport import DEFAULT_TIMEOUT, AsyncResilientTransport

log = logging.getLogger("hubspot_postal_mail")  # one logger: see config.LOGGERS

MAX_BATCH = 100
DEFAULT_CONCURRENCY = 10
STOP_REQUESTED = "stop requested"  # UpsertReport.stopped when the caller's `stop` event was set
# Categories for failures that have no HubSpot category of their own.
CATEGORY = {
    Kind.RATE_LIMITED: "RATE_LIMITS",
    Kind.SERVER_ERROR: "SERVER_ERROR",
    Kind.NETWORK: "NETWORK_ERROR",
    Kind.TIMEOUT: "TIMEOUT",
}
SPLIT_STATUSES = frozenset({400, 413})

BatchAnswer = (
    BatchResponseSimplePublicUpsertObject | BatchResponseSimplePublicUpsertObjectWithErrors | Error
)


@dataclass(frozen=True)
class Progress:
    """A snapshot for a progress bar, given to ``on_progress`` as the run goes."""

    read: int
    done: int
    created: int
    updated: int
    failed: int
    skipped: int
    resumed: int
    in_flight: int
    requests: int
    retries: int
    rate_limited: int
    elapsed_s: float


@dataclass(frozen=True)
class _Item:
    seq: int  # 0-based position in the input: the checkpoint key and the trace id
    rec: UpsertInput


class _Written(NamedTuple):
    """What the runtime needs of one result: which input wrote it, and how."""

    trace: object  # objectWriteTraceId, if any
    key: object  # the unique property's value, if any
    object_id: str
    new: bool


@dataclass
class _Sent:
    """What one request (and its splits) settled."""

    results: list[tuple[_Item, RecordResult, bool]] = field(default_factory=list)  # bool: final
    unresolved: list[_Item] = field(default_factory=list)
    stop: str | None = None

    def fail(self, items: Iterable[_Item], error: RecordError, *, final: bool) -> _Sent:
        for item in items:
            self.results.append((item, _failed(item, error), final))
        return self

    def merge(self, other: _Sent) -> _Sent:
        self.results += other.results
        self.unresolved += other.unresolved
        self.stop = self.stop or other.stop
        return self


def _failed(item: _Item, error: RecordError) -> RecordResult:
    return RecordResult(item.rec.line, item.rec.id, Outcome.FAILED, error=error)


async def _aiter(records: Iterable[Any] | AsyncIterable[Any]) -> AsyncIterator[Any]:
    if isinstance(records, AsyncIterable):
        async for record in records:
            yield record
    else:
        for record in records:
            yield record


class _Run:
    """The state of one run; see the module docstring for the rules it keeps."""

    def __init__(
        self,
        *,
        client: AuthenticatedClient,
        id_property: str,
        concurrency: int,
        batch_size: int,
        checkpoint: Checkpoint | None,
        writer: ReportWriter,
        stats: RequestStats,
        on_progress: Callable[[Progress], None] | None,
        redact: Callable[[str], str],
        stop_requested: threading.Event | None = None,
    ) -> None:
        self.client = client
        self.id_property = id_property
        self.concurrency = concurrency
        self.batch_size = batch_size
        self.checkpoint = checkpoint
        self.writer = writer
        self.stats = stats
        self.on_progress = on_progress
        self.redact = redact
        self.report = UpsertReport()
        self.started = time.monotonic()
        self.read = 0
        self.pending: dict[str, deque[_Item]] = {}  # id -> its unsent records, in input order
        self.pending_records = 0
        self.in_flight: set[str] = set()
        self.in_flight_records = 0
        self.blocked = 0  # pending ids that are in flight
        self.unsettled: dict[str, list[int]] = {}  # id -> positions whose retries ran out
        self.to_mark: list[int] = []  # finished positions not yet in the checkpoint
        self.stop: str | None = None
        self.stop_requested = stop_requested
        self.read_ahead = max(2 * batch_size * concurrency, batch_size)

    # -- reading -----------------------------------------------------------------------------

    def accept(self, seq: int, raw: Any) -> None:
        self.read += 1
        if self.checkpoint is not None and self.checkpoint.is_done(seq):
            self.report.resumed += 1
            return
        record = normalise(raw, id_property=self.id_property, line=seq + 1)
        if isinstance(record, InvalidRecord):
            error = RecordError("INVALID_INPUT", self.redact(record.reason))
            self.record(seq, RecordResult(record.line, record.id, Outcome.FAILED, error=error))
            return
        item = _Item(seq, record)
        self.pending_records += 1
        queue = self.pending.get(record.id)
        if queue is not None:
            queue.append(item)  # waits behind the earlier ones with its id
            return
        self.pending[record.id] = deque([item])
        if record.id in self.in_flight:
            self.blocked += 1

    def record(self, seq: int, result: RecordResult) -> None:
        """A final outcome decided without a request (an invalid record)."""
        self.writer.write(result)
        self.report.add(result)
        self.to_mark.append(seq)

    @property
    def eligible(self) -> int:
        return len(self.pending) - self.blocked

    def take_batch(self) -> list[_Item]:
        batch: list[_Item] = []
        for key, queue in self.pending.items():
            if key not in self.in_flight:
                batch.append(queue[0])
                if len(batch) >= self.batch_size:
                    break
        for item in batch:
            queue = self.pending[item.rec.id]
            queue.popleft()
            if queue:
                self.blocked += 1  # its next record waits for this one
            else:
                del self.pending[item.rec.id]
            self.in_flight.add(item.rec.id)
        self.pending_records -= len(batch)
        self.in_flight_records += len(batch)
        return batch

    # -- sending -----------------------------------------------------------------------------

    def _body(self, items: list[_Item]) -> BatchInputSimplePublicObjectBatchInputUpsert:
        inputs = []
        for item in items:
            props = SimplePublicObjectBatchInputUpsertProperties()
            props.additional_properties = dict(item.rec.properties)
            inputs.append(
                SimplePublicObjectBatchInputUpsert(
                    id=item.rec.id,
                    properties=props,
                    id_property=self.id_property,
                    object_write_trace_id=str(item.seq),
                )
            )
        return BatchInputSimplePublicObjectBatchInputUpsert(inputs=inputs)

    def _request_error(self, response: Response[BatchAnswer], kind: Kind) -> RecordError:
        status = int(response.status_code)
        parsed = response.parsed
        if isinstance(parsed, Error):
            category = parsed.category if isinstance(parsed.category, str) else None
            message = parsed.message
        else:
            category = None
            message = response.content[:300].decode("utf-8", "replace") or "(empty body)"
        category = category or CATEGORY.get(kind) or f"HTTP_{status}"
        return RecordError(category, self.redact(message), status)

    async def send(self, items: list[_Item]) -> _Sent:
        try:
            response = await batch_upsert.asyncio_detailed(
                client=self.client, body=self._body(items)
            )
        except httpx.TransportError as exc:  # the transport's retries ran out
            kind = classify_exception(exc)
            message = self.redact(f"{type(exc).__name__}: {exc}")
            if kind is Kind.FATAL:
                return _Sent(unresolved=list(items), stop=f"cannot send: {message}")
            error = RecordError(CATEGORY[kind], f"retries ran out: {message}")
            return _Sent().fail(items, error, final=False)
        status = int(response.status_code)
        kind = classify(status, response.headers, response.content)
        if kind is Kind.OK:
            return self._map_answer(items, response)
        error = self._request_error(response, kind)
        if kind in STOPS_RUN:
            what = "daily request limit reached" if kind is Kind.DAILY_LIMIT else "not authorised"
            stop = f"{what} (HTTP {status} {error.category}): {error.message}"
            return _Sent(unresolved=list(items), stop=stop)
        if kind in TRANSIENT:
            return _Sent().fail(items, error, final=False)
        if status in SPLIT_STATUSES and len(items) > 1:
            return await self._split(items, response, error)
        return _Sent().fail(items, error, final=True)

    def _targets(
        self, context: dict[str, list[str]], by_trace: dict[str, _Item], by_id: dict[str, _Item]
    ) -> list[_Item]:
        """The inputs an error's context names, by trace id first, then by id."""
        found: dict[int, _Item] = {}
        for trace in context.get("objectWriteTraceId", []):
            if (item := by_trace.get(str(trace))) is not None:
                found[item.seq] = item
        for key in ("ids", "id"):
            for value in context.get(key, []):
                if (item := by_id.get(str(value))) is not None:
                    found[item.seq] = item
        return list(found.values())

    async def _split(
        self, items: list[_Item], response: Response[BatchAnswer], error: RecordError
    ) -> _Sent:
        """A whole batch refused: drop the inputs the error names, else bisect."""
        parsed = response.parsed
        context = (
            parsed.context.additional_properties
            if isinstance(parsed, Error) and not isinstance(parsed.context, Unset)
            else {}
        )
        by_trace = {str(item.seq): item for item in items}
        by_id = {item.rec.id: item for item in items}
        named = self._targets(context, by_trace, by_id)
        if named and len(named) < len(items):
            rest = [item for item in items if item not in named]
            return _Sent().fail(named, error, final=True).merge(await self.send(rest))
        middle = len(items) // 2
        left, right = await asyncio.gather(self.send(items[:middle]), self.send(items[middle:]))
        return left.merge(right)

    def _map_answer(self, items: list[_Item], response: Response[BatchAnswer]) -> _Sent:
        """200, 207 and 200-with-errors alike: results and errors back to their inputs.

        An answer without errors, the usual one, is read straight from its JSON: only the few
        fields needed here, not a model for each of a hundred results. Any other answer goes
        through the generated models.
        """
        status = int(response.status_code)
        written = self._plain_results(response.content)
        failures: list[StandardError] = []
        if written is None:
            parsed = response.parsed
            if not isinstance(
                parsed,
                BatchResponseSimplePublicUpsertObject
                | BatchResponseSimplePublicUpsertObjectWithErrors,
            ):
                error = RecordError(
                    "UNPARSABLE_RESPONSE",
                    f"HTTP {status} with a body that could not be read",
                    status,
                )
                return _Sent().fail(items, error, final=False)
            written = [
                _Written(
                    result.object_write_trace_id,
                    result.properties.additional_properties.get(self.id_property),
                    result.id,
                    result.new,
                )
                for result in parsed.results
            ]
            failures = [] if isinstance(parsed.errors, Unset) else parsed.errors
        by_trace = {str(item.seq): item for item in items}
        by_id = {item.rec.id: item for item in items}
        settled: dict[int, tuple[_Item, RecordResult, bool]] = {}
        for result in written:
            item = by_trace.get(result.trace) if isinstance(result.trace, str) else None
            if item is None:
                item = by_id.get(str(result.key))
            if item is None or item.seq in settled:
                continue
            outcome = Outcome.CREATED if result.new else Outcome.UPDATED
            settled[item.seq] = (
                item,
                RecordResult(item.rec.line, item.rec.id, outcome, object_id=result.object_id),
                True,
            )
        stray: list[RecordError] = []
        for failure in failures:
            error = RecordError(failure.category, self.redact(failure.message), status)
            context = (
                {} if isinstance(failure.context, Unset) else failure.context.additional_properties
            )
            targets = self._targets(context, by_trace, by_id)
            if not targets:
                stray.append(error)
            for item in targets:
                settled.setdefault(item.seq, (item, _failed(item, error), True))
        sent = _Sent(results=list(settled.values()))
        missing = [item for item in items if item.seq not in settled]
        if missing:
            # Not named in the answer: we cannot tell whether it was written. Not final, so a
            # rerun with the checkpoint sends it again.
            error = (
                stray[0]
                if len(stray) == 1
                else RecordError(
                    "NO_RESULT", "HubSpot's answer did not mention this record", status
                )
            )
            sent.fail(missing, error, final=False)
        return sent

    def _plain_results(self, content: bytes) -> list[_Written] | None:
        """The results of an answer that carries no errors, from its JSON; None for any other."""
        try:
            data = json.loads(content)
        except ValueError:
            return None
        results = data.get("results") if isinstance(data, dict) else None
        if not isinstance(results, list) or data.get("errors"):
            return None
        written = []
        for result in results:
            properties = result.get("properties") if isinstance(result, dict) else None
            if not (
                isinstance(properties, dict)
                and isinstance(object_id := result.get("id"), str)
                and isinstance(new := result.get("new"), bool)
            ):
                return None  # not the shape we expect: the models decide what it is
            key = properties.get(self.id_property)
            written.append(_Written(result.get("objectWriteTraceId"), key, object_id, new))
        return written

    # -- settling ----------------------------------------------------------------------------

    def settle(self, batch: list[_Item], sent: _Sent) -> None:
        for item, result, final in sent.results:
            self.writer.write(result)
            self.report.add(result)
            if final:
                self.to_mark.append(item.seq)
                # An id settled by a later record supersedes its earlier unsettled ones.
                self.to_mark.extend(self.unsettled.pop(item.rec.id, ()))
            else:
                self.unsettled.setdefault(item.rec.id, []).append(item.seq)
        self.report.unfinished += len(sent.unresolved)
        if sent.stop and self.stop is None:
            self.stop = sent.stop
            log.warning("stopping early: %s", sent.stop)
        self.writer.flush()
        self.flush_checkpoint()  # before the ids are released: see checkpoint.py
        for item in batch:
            self.in_flight.discard(item.rec.id)
            if item.rec.id in self.pending:
                self.blocked -= 1
        self.in_flight_records -= len(batch)
        self.progress()

    def flush_checkpoint(self) -> None:
        if self.checkpoint is not None and self.to_mark:
            self.checkpoint.mark(self.to_mark)
        self.to_mark.clear()

    def progress(self) -> None:
        if self.on_progress is None:
            return
        r = self.report
        self.on_progress(
            Progress(
                read=self.read,
                done=r.total,
                created=r.created,
                updated=r.updated,
                failed=r.failed,
                skipped=r.skipped,
                resumed=r.resumed,
                in_flight=self.in_flight_records,
                requests=self.stats.requests,
                retries=self.stats.retries,
                rate_limited=self.stats.rate_limited,
                elapsed_s=time.monotonic() - self.started,
            )
        )

    # -- the loop ----------------------------------------------------------------------------

    async def run(self, records: Iterable[Any] | AsyncIterable[Any]) -> UpsertReport:
        source = _aiter(records)
        tasks: dict[asyncio.Task[_Sent], list[_Item]] = {}
        exhausted = False
        seq = 0
        try:
            while True:
                if self.stop is None and self.stop_requested and self.stop_requested.is_set():
                    self.stop = STOP_REQUESTED  # send nothing new; let batches in flight finish
                while (
                    not exhausted and self.stop is None and self.pending_records < self.read_ahead
                ):
                    try:
                        raw = await anext(source)
                    except StopAsyncIteration:
                        exhausted = True
                        break
                    self.accept(seq, raw)
                    seq += 1
                    free = max(1, self.concurrency - len(tasks))
                    if self.eligible >= self.batch_size * free:
                        break
                while (
                    self.stop is None
                    and len(tasks) < self.concurrency
                    and self.eligible > 0
                    and (
                        self.eligible >= self.batch_size
                        or exhausted
                        or self.pending_records >= self.read_ahead
                    )
                ):
                    batch = self.take_batch()
                    tasks[asyncio.ensure_future(self.send(batch))] = batch
                if not tasks:
                    if exhausted or self.stop is not None:
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
        self.report.unfinished += self.pending_records
        self.report.stopped = self.stop
        return self.report


async def aupsert_all(
    records: Iterable[Any] | AsyncIterable[Any],
    *,
    id_property: str,
    token: str | Secret | None = None,
    base_url: str | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    rate_limit: RateLimit | str | tuple[int, float] | None = None,
    checkpoint: str | Path | None = None,
    report: ReportTarget | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    retry_policy: RetryPolicy | None = None,
    batch_size: int = MAX_BATCH,
    http_timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    transport: httpx.AsyncBaseTransport | None = None,
    stop: threading.Event | None = None,
    shared_budget: str | None = None,
) -> UpsertReport:
    """Upsert every record, keyed by the unique property ``id_property``; see the module doc.

    ``records``: mappings (flat, or in the API's input shape), generated input models, or
    :class:`~hubspot_postal_mail._records.SourceLine` from the readers; read lazily.
    ``rate_limit``: the budget, ``"N/SECONDS"`` (default 100/10, HubSpot's smallest tier).
    ``checkpoint``: a file; rerun with the same input and file to finish what is left.
    ``report``: a path, a text stream or a callable that gets one entry per record.
    ``transport``: the innermost httpx transport (tests, proxies); retries wrap it.
    ``stop``: set it (from any thread, e.g. on Ctrl+C) to stop early: no new batch is sent,
    batches in flight finish, ``stopped`` says :data:`STOP_REQUESTED`; rerun with the checkpoint.
    ``shared_budget``: a Redis URL; every run naming it (and the same token) shares one budget.
    """
    if isinstance(records, str | bytes | Path):
        raise TypeError("records must be an iterable of records; use readers.read_records(path)")
    if not id_property:
        raise ValueError("id_property is required")
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    if not 1 <= batch_size <= MAX_BATCH:
        raise ValueError(f"batch_size must be between 1 and {MAX_BATCH}")
    secret = resolve_token(token)
    url = resolve_base_url(base_url)
    pacer = await _pacer(RateLimit.coerce(rate_limit), secret, shared_budget)
    stats = RequestStats()
    resilient = AsyncResilientTransport(
        transport, policy=retry_policy, pacer=pacer, stats=stats, timeout=http_timeout
    )
    started = time.monotonic()
    async with _closing(pacer, secret) as redaction:
        store = Checkpoint(checkpoint, id_property=id_property) if checkpoint else None
        writer = ReportWriter(report, append=bool(store and store.resumed), redact=redaction.redact)
        try:
            async with client_with_transport(
                secret, url, resilient, timeout=http_timeout
            ) as client:
                run = _Run(
                    client=client,
                    id_property=id_property,
                    concurrency=concurrency,
                    batch_size=batch_size,
                    checkpoint=store,
                    writer=writer,
                    stats=stats,
                    on_progress=on_progress,
                    redact=redaction.redact,
                    stop_requested=stop,
                )
                stats.listener = run.progress
                result = await run.run(records)
        finally:
            writer.close()
            if store is not None:
                store.close()
    result.requests = stats.requests
    result.retries = stats.retries
    result.rate_limited = stats.rate_limited
    result.elapsed_s = time.monotonic() - started
    result.shared_budget_fallback = getattr(pacer, "fallback_reason", None)
    return result


async def _pacer(rate: RateLimit, token: Secret, shared_budget: str | None) -> AsyncPacer:
    """The run's own budget, or one drawn from a shared window in Redis (ConfigError if not)."""
    if not shared_budget:
        return AsyncPacer(RequestBudget(rate))
    try:
        from ._shared_budget import connect_shared_pacer
    except ImportError:
        raise ConfigError(
            "a shared budget needs the redis extra: pip install 'hubspot-postal-mail[redis]'"
        ) from None
    return await connect_shared_pacer(shared_budget, token=token, rate=rate)


@contextlib.asynccontextmanager
async def _closing(pacer: AsyncPacer, secret: Secret) -> AsyncIterator[RedactingFilter]:
    """Logs redacted for the run; the pacer's connections (a shared budget's) closed after."""
    try:
        with redact_logs(secret) as redaction:
            yield redaction
    finally:
        if (aclose := getattr(pacer, "aclose", None)) is not None:
            await aclose()


def upsert_all(
    records: Iterable[Any],
    *,
    id_property: str,
    token: str | Secret | None = None,
    base_url: str | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    rate_limit: RateLimit | str | tuple[int, float] | None = None,
    checkpoint: str | Path | None = None,
    report: ReportTarget | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    retry_policy: RetryPolicy | None = None,
    batch_size: int = MAX_BATCH,
    http_timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    transport: httpx.AsyncBaseTransport | None = None,
    stop: threading.Event | None = None,
    shared_budget: str | None = None,
) -> UpsertReport:
    """The blocking form of :func:`aupsert_all` (it runs that on an event loop of its own)."""
    work = aupsert_all(
        records,
        id_property=id_property,
        token=token,
        base_url=base_url,
        concurrency=concurrency,
        rate_limit=rate_limit,
        checkpoint=checkpoint,
        report=report,
        on_progress=on_progress,
        retry_policy=retry_policy,
        batch_size=batch_size,
        http_timeout=http_timeout,
        transport=transport,
        stop=stop,
        shared_budget=shared_budget,
    )
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(work)
    # Called from inside an event loop (a notebook, an async app): run on a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work).result()
