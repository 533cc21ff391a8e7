"""From HubSpot's answer to one result per input: pure functions, no I/O.

An answer and the inputs of its request go in; per-record results come out. 200, 207 and
200-with-errors are read alike: results and errors are matched to inputs by
``objectWriteTraceId`` (each input carries its position), then by id, whatever their order. The
usual answer, with no errors, is read straight from its JSON (only the fields needed, no model
per result); any other goes through the generated models.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson
from hubspot_postal_mail_client.models import (
    BatchResponseSimplePublicUpsertObject,
    BatchResponseSimplePublicUpsertObjectWithErrors,
    Error,
    StandardError,
)
from hubspot_postal_mail_client.types import Unset

from ._records import UpsertInput
from ._report import Category, Outcome, RecordError, RecordResult, StopReason
from ._retry_policy import Kind

BatchAnswer = (
    BatchResponseSimplePublicUpsertObject | BatchResponseSimplePublicUpsertObjectWithErrors | Error
)
_BATCH_MODELS = (
    BatchResponseSimplePublicUpsertObject,
    BatchResponseSimplePublicUpsertObjectWithErrors,
)
# Categories for failures that have no HubSpot category of their own.
KIND_CATEGORY = {
    Kind.RATE_LIMITED: Category.RATE_LIMITS,
    Kind.SERVER_ERROR: Category.SERVER_ERROR,
    Kind.NETWORK: Category.NETWORK_ERROR,
    Kind.TIMEOUT: Category.TIMEOUT,
}
ERROR_BODY_SHOWN = 300  # characters of a non-JSON error body kept in a message (after redaction)
# HubSpot's own messages are kept whole up to this; a longer one is cut (and says so), or a run
# of a million records with a megabyte message each would write a terabyte of report.
MESSAGE_KEPT = 2000


def clip(message: str, limit: int = MESSAGE_KEPT) -> str:
    """``message``, cut to ``limit`` characters with a note saying how long it was."""
    if len(message) <= limit:
        return message
    return f"{message[:limit]}... [cut: {len(message)} characters in all]"


@dataclass(slots=True)  # not frozen: one per record, and frozen costs 1 us each
class Item:
    """One record on its way: ``seq`` is its 0-based input position (checkpoint key, trace id)."""

    seq: int
    rec: UpsertInput
    fingerprint: bytes | None = None  # of its properties, when a sync state is kept


@dataclass
class Settled:
    """What one request (and its splits) settled: each result with whether it is final.

    A result that is not final (retries ran out, no result in the answer) leaves its record to a
    rerun; ``unresolved`` records were never sent (the run stops: ``stop``).
    """

    results: list[tuple[Item, RecordResult, bool]] = field(default_factory=list)
    unresolved: list[Item] = field(default_factory=list)
    stop: tuple[StopReason, str] | None = None

    def fail(self, items: Iterable[Item], error: RecordError, *, final: bool) -> Settled:
        for item in items:
            self.results.append((item, failed(item, error), final))
        return self

    def merge(self, other: Settled) -> Settled:
        self.results += other.results
        self.unresolved += other.unresolved
        self.stop = self.stop or other.stop
        return self


def failed(item: Item, error: RecordError) -> RecordResult:
    return RecordResult(item.rec.line, item.rec.id, Outcome.FAILED, error=error)


class _Written(NamedTuple):
    """What the runtime needs of one result: which input wrote it, and how."""

    trace: object  # objectWriteTraceId, if any
    key: object  # the unique property's value, if any
    object_id: str
    new: bool


def request_error(
    status: int,
    content: bytes,
    parsed: BatchAnswer | None,
    kind: Kind,
    redact: Callable[[str], str],
) -> RecordError:
    """The error a whole refused request gives each of its records."""
    if isinstance(parsed, Error):
        category = parsed.category if isinstance(parsed.category, str) else None
        message = clip(redact(parsed.message))
    else:
        category = None
        # Redact before cutting: a cut through a token would hide it from the redaction.
        text = redact(content.decode("utf-8", "replace"))
        message = text[:ERROR_BODY_SHOWN] or "(empty body)"
    category = category or KIND_CATEGORY.get(kind) or f"HTTP_{status}"
    return RecordError(category, message, status)


def error_context(parsed: BatchAnswer | None) -> Mapping[str, list[str]]:
    """The ``context`` of a whole-request error (ids or trace ids it names), if any."""
    if isinstance(parsed, Error) and not isinstance(parsed.context, Unset):
        return parsed.context.additional_properties
    return {}


def named_inputs(context: Mapping[str, Sequence[object]], items: Sequence[Item]) -> list[Item]:
    """The inputs an error's context names, by trace id first, then by id."""
    by_trace = {str(item.seq): item for item in items}
    by_id = {item.rec.id: item for item in items}
    found: dict[int, Item] = {}
    for trace in context.get("objectWriteTraceId", []):
        if (item := by_trace.get(str(trace))) is not None:
            found[item.seq] = item
    for key in ("ids", "id"):
        for value in context.get(key, []):
            if (item := by_id.get(str(value))) is not None:
                found[item.seq] = item
    return list(found.values())


def map_answer(
    items: Sequence[Item],
    status: int,
    content: bytes,
    parsed: Callable[[], BatchAnswer | None],
    *,
    id_property: str,
    redact: Callable[[str], str],
) -> Settled:
    """A 2xx answer's results and errors back to its inputs; ``parsed`` is asked only if needed."""
    failures: list[StandardError] = []
    written = plain_results(content, id_property)
    if written is None:
        answer = parsed()
        if not isinstance(answer, _BATCH_MODELS):
            error = RecordError(
                Category.UNPARSABLE_RESPONSE,
                f"HTTP {status} with a body that could not be read",
                status,
            )
            return Settled().fail(items, error, final=False)
        written = [
            _Written(
                result.object_write_trace_id,
                result.properties.additional_properties.get(id_property),
                result.id,
                result.new,
            )
            for result in answer.results
        ]
        failures = [] if isinstance(answer.errors, Unset) else answer.errors
    by_trace = {str(item.seq): item for item in items}
    by_id = {item.rec.id: item for item in items}
    settled: dict[int, tuple[Item, RecordResult, bool]] = {}
    for result in written:
        item = by_trace.get(result.trace) if isinstance(result.trace, str) else None
        if item is None:
            item = by_id.get(str(result.key))
        if item is None or item.seq in settled:
            continue
        outcome = Outcome.CREATED if result.new else Outcome.UPDATED
        record = RecordResult(item.rec.line, item.rec.id, outcome, object_id=result.object_id)
        settled[item.seq] = (item, record, True)
    stray: list[RecordError] = []
    for failure in failures:
        error = RecordError(failure.category, clip(redact(failure.message)), status)
        context = (
            {} if isinstance(failure.context, Unset) else failure.context.additional_properties
        )
        targets = named_inputs(context, items)
        if not targets:
            stray.append(error)
        for item in targets:
            settled.setdefault(item.seq, (item, failed(item, error), True))
    answer_settled = Settled(results=list(settled.values()))
    missing = [item for item in items if item.seq not in settled]
    if missing:
        # Not named in the answer: we cannot tell whether it was written. Not final, so a rerun
        # sends it again.
        error = (
            stray[0]
            if len(stray) == 1
            else RecordError(
                Category.NO_RESULT, "HubSpot's answer did not mention this record", status
            )
        )
        answer_settled.fail(missing, error, final=False)
    return answer_settled


def plain_results(content: bytes, id_property: str) -> list[_Written] | None:
    """The results of an answer that carries no errors, from its JSON; None for any other.

    orjson reads the answer (100 results) in a third of the standard decoder's time; whatever
    it refuses goes to the generated models, which decide what the body is.
    """
    try:
        data: Any = orjson.loads(content)
    except orjson.JSONDecodeError:
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
        written.append(
            _Written(result.get("objectWriteTraceId"), properties.get(id_property), object_id, new)
        )
    return written
