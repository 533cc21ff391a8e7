"""Sending one batch and settling it: the only part of a run that talks to HubSpot.

The request body is built from plain dicts; each answer is judged by the transport's verdict
(:mod:`._retry_policy`) and mapped to per-record results (:mod:`._answers`). A whole-batch
refusal that may be one record's fault (400, 409, 413, 422) is split until the bad records are
alone; a refusal that holds down to single records on both sides is about the request itself,
and stops the run instead of spending the day's budget on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
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
from ._pacing import PacerClosed
from ._report import RecordError, StopReason
from ._retry_policy import STOPS_RUN, TRANSIENT, Kind, classify_exception, classify_status
from ._transport import VERDICT, Reachability, Verdict

CONFLICT = 409
# Whole-batch refusals that no retry fixes and that may be one record's fault: split them.
SPLIT_STATUSES = frozenset({400, CONFLICT, 413, 422})
# HubSpot's refusal of the id property itself ("Unable to perform update/upsert by non-unique
# 0-116 property NAME"): no record can be written by it, however the batch is cut, so the run
# stops at the first one (even a file of one id, whose batches hold one record each and would
# otherwise spend a request per line). Other wordings still meet the probe of _bisect.
NOT_UNIQUE = "upsert by non-unique"


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


class Sender:
    """Sends one batch and settles it; see the module docstring."""

    def __init__(
        self,
        client: AuthenticatedClient,
        id_property: str,
        redact: Callable[[str], str],
        *,
        reachability: Reachability | None = None,
        on_round_trip: Callable[[float], None] | None = None,
    ) -> None:
        self.client = client
        self.id_property = id_property
        self.redact = redact
        self.reachability = reachability
        self.on_round_trip = on_round_trip
        # Told each part of a split batch as soon as it is settled, so the run can report it
        # and let its ids go out again while the rest is still being split (a 409 batch takes
        # seven levels of answers to find its culprit). Parts with a stop are not told: they
        # go up with the batch, whose probe may need to see them.
        self.on_part: Callable[[Settled], None] | None = None
        # whole-request refusal -> whether probing it showed it is about the request itself
        self._probes: dict[tuple[object, ...], asyncio.Future[bool]] = {}

    async def send_batch(self, items: list[Item]) -> Settled:
        """One of the run's batches. When several meet the same whole-request refusal, one is
        probed (see :meth:`_bisect`) and the others wait for its verdict: if the refusal is
        about the request, they end unsent with the run, instead of each being bisected."""
        answer = await self._post(items)
        if isinstance(answer, Settled):
            return answer
        key = self._refusal(answer) if len(items) > 1 else None
        if key is None or key[0] == CONFLICT:
            return await self._judge(items, answer)
        probe = self._probes.get(key)
        if probe is not None:
            if await asyncio.shield(probe):
                return Settled(unresolved=list(items))  # the probe stopped the run
            return await self._judge(items, answer)
        probe = self._probes[key] = asyncio.get_running_loop().create_future()
        request_level = False
        try:
            settled = await self._judge(items, answer)
            request_level = settled.stop is not None and settled.stop[0] is StopReason.REFUSED
            return settled
        finally:
            probe.set_result(request_level)

    async def _send_part(self, items: list[Item]) -> Settled:
        """Part of a batch being split: judged on its own answer. It takes no part in the
        probe wait of :meth:`send_batch`: the batch it comes from may be the probe."""
        answer = await self._post(items)
        if isinstance(answer, Settled):
            return answer
        return await self._judge(items, answer)

    async def _post(self, items: list[Item]) -> Response[BatchAnswer] | Settled:
        """HubSpot's answer, or what a request without one settles."""
        try:
            response = await batch_upsert.asyncio_detailed(
                client=self.client, body=_body(items, self.id_property)
            )
        except PacerClosed:  # the run is stopping: never sent, a rerun sends it
            return Settled(unresolved=list(items))
        except httpx.TransportError as exc:  # the transport's retries ran out
            kind = classify_exception(exc)
            message = self.redact(f"{type(exc).__name__}: {exc}")
            if kind is Kind.FATAL:
                stop = (StopReason.CANNOT_SEND, f"cannot send: {message}")
                return Settled(unresolved=list(items), stop=stop)
            if self.reachability is not None and self.reachability.unreachable:
                stop = (StopReason.UNREACHABLE, f"HubSpot cannot be reached: {message}")
                return Settled(unresolved=list(items), stop=stop)
            error = RecordError(KIND_CATEGORY[kind], f"retries ran out: {message}")
            return Settled().fail(items, error, final=False)
        verdict = response.extensions.get(VERDICT)
        if isinstance(verdict, Verdict) and verdict.round_trip_s is not None and self.on_round_trip:
            self.on_round_trip(verdict.round_trip_s)
        return response

    async def _judge(self, items: list[Item], response: Response[BatchAnswer]) -> Settled:
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
        if status == 400 and NOT_UNIQUE in error.message.lower():
            refused = (
                f"HubSpot will not upsert by {self.id_property!r}, which is not a unique-value "
                f"property (HTTP {status} {error.category}): {error.message}; give "
                '--id-property a property with "Require unique values" set'
            )
            return Settled(unresolved=list(items), stop=(StopReason.REFUSED, refused))
        if status in SPLIT_STATUSES and len(items) > 1:
            return await self._split(items, response, error)
        return Settled().fail(items, error, final=True)

    async def _split(
        self, items: list[Item], response: Response[BatchAnswer], error: RecordError
    ) -> Settled:
        """A whole batch refused: drop the inputs the error names, else bisect.

        A 409 (one input conflicts with another record: HubSpot refuses the whole batch and
        names the existing record, not the input) is split like a 400 until the culprit is
        alone, so the good records are written.
        """
        named = named_inputs(error_context(response.parsed), items)
        if named and len(named) < len(items):
            rest = [item for item in items if item not in named]
            return Settled().fail(named, error, final=True).merge(await self._send_part(rest))
        return await self._bisect(items, error)

    async def _bisect(self, items: list[Item], error: RecordError) -> Settled:
        """Send both halves; settle each by its own answer.

        When both halves meet the very refusal of the whole (same status, category and
        message), it may be about the request, not a record (a non-unique ``idProperty``, say):
        bisecting every batch down to single records would spend the day's budget on it. So one
        half is probed further, one level at a time; if the refusal holds down to single
        records on both sides, the run stops with HubSpot's message (the records stay
        unfinished). Bad records spread over the batch part ways at some level, and the rest
        is bisected as usual. A 409 names another record, so it is never taken for this.
        """
        middle = len(items) // 2
        halves = [items[:middle], items[middle:]]
        answers = await asyncio.gather(*(self._post(half) for half in halves))
        same = error.status != CONFLICT and all(
            not isinstance(answer, Settled) and self._refusal(answer) == _key(error)
            for answer in answers
        )
        if same:
            if all(len(half) == 1 for half in halves):
                stop = (
                    StopReason.REFUSED,
                    f"HubSpot refuses every request alike, down to single records "
                    f"(HTTP {error.status} {error.category}): {error.message}",
                )
                return Settled(unresolved=list(items), stop=stop)
            probe, other = (0, 1) if len(halves[0]) > 1 else (1, 0)
            probed = await self._bisect(halves[probe], error)
            if probed.stop is not None and probed.stop[0] is StopReason.REFUSED:
                return Settled(unresolved=list(items), stop=probed.stop)
            answer = answers[other]
            assert not isinstance(answer, Settled)
            return probed.merge(await self._judge(halves[other], answer))
        settled = await asyncio.gather(
            *(self._part(half, answer) for half, answer in zip(halves, answers, strict=True))
        )
        return settled[0].merge(settled[1])

    async def _part(self, half: list[Item], answer: Response[BatchAnswer] | Settled) -> Settled:
        """One half of a bisected batch, judged; handed to :attr:`on_part` when it is done."""
        settled = answer if isinstance(answer, Settled) else await self._judge(half, answer)
        if self.on_part is None or settled.stop is not None:
            return settled
        self.on_part(settled)
        return Settled()

    def _refusal(self, response: Response[BatchAnswer]) -> tuple[object, ...] | None:
        status = int(response.status_code)
        kind = _verdict(response)
        if kind is not Kind.REJECTED or status not in SPLIT_STATUSES:
            return None
        return _key(request_error(status, response.content, response.parsed, kind, self.redact))


def _key(error: RecordError) -> tuple[object, ...]:
    return (error.status, error.category, error.message)


def _verdict(response: Response[BatchAnswer]) -> Kind:
    """The transport's verdict on the answer; classified here only if it came another way."""
    verdict = response.extensions.get(VERDICT)
    if isinstance(verdict, Verdict):
        return verdict.kind
    return classify_status(int(response.status_code), response.headers, response.content)
