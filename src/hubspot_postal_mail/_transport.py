"""The resilient httpx transport the generated client sends through (async).

It wraps the default transport and adds, per HTTP attempt: a slot from the shared request
budget (so retries are paced too; an attempt that never reached HubSpot's counter gives it
back), the retry rules of :mod:`.retry_policy` (POST included), backoff with jitter or the
server's ``Retry-After``, finite timeouts when the caller set none, and counters. The retry
loop itself is tenacity's; sleep and randomness are injectable so tests run without waiting.

Each answer is classified once, here: its :class:`Verdict` travels up with the response in
``response.extensions[VERDICT]``, so the bulk engine never classifies it again.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import tenacity

from ._constants import DEFAULT_ATTEMPT_DEADLINE_S, DEFAULT_MAX_ANSWER_BYTES, DEFAULT_TIMEOUT
from ._pacing import AsyncPacer, PacerClosed, Slot
from ._rate_limits import rate_limit_info
from ._retry_policy import (
    Kind,
    RetryPolicy,
    classify_exception,
    classify_status,
    retry_after_seconds,
    should_retry,
    wait_seconds,
)

log = logging.getLogger("hubspot_postal_mail")  # one logger: see config.LOGGERS

VERDICT = "hubspot_postal_mail.verdict"  # the key of a response's Verdict in its extensions


class RequestCounter(Protocol):
    """Where the transport counts what it does (the run's report)."""

    def count_request(self) -> None: ...
    def count_retry(self) -> None: ...
    def count_rate_limited(self) -> None: ...


class _NoCounter:
    def count_request(self) -> None:
        pass

    def count_retry(self) -> None:
        pass

    def count_rate_limited(self) -> None:
        pass


def _with_finite_timeout(request: httpx.Request, timeout: httpx.Timeout) -> None:
    """Fill in any timeout the client left unset (the generated client's default is None)."""
    current = request.extensions.get("timeout") or {}
    defaults = timeout.as_dict()
    request.extensions["timeout"] = {
        key: current.get(key) if current.get(key) is not None else defaults[key] for key in defaults
    }


@dataclass
class Verdict:
    """What the latest attempt of one request came to (its answer carries it up)."""

    kind: Kind = Kind.OK
    retry_after: float | None = None
    attempts: int = 0
    round_trip_s: float | None = None  # of the attempt that got this answer


class AnswerTooLarge(httpx.DecodingError):
    """An answer (after decompression) larger than any real one: a fault, not read further."""


class Reachability:
    """Whether HubSpot can be reached at all, from the attempts' fates.

    Unreachable: the last ``failures`` attempts all failed to connect (refused, DNS, TLS
    handshake, connect timeout), over at least ``seconds``. Then retrying is pointless: the run
    stops (resumably) instead of retrying every batch for minutes.
    """

    def __init__(
        self, failures: int = 10, seconds: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failures = failures
        self.seconds = seconds
        self._clock = clock
        self._count = 0
        self._since: float | None = None

    def connected(self) -> None:
        self._count, self._since = 0, None

    def failed_to_connect(self) -> None:
        self._count += 1
        if self._since is None:
            self._since = self._clock()

    @property
    def unreachable(self) -> bool:
        return (
            self._since is not None
            and self._count >= self.failures
            and self._clock() - self._since >= self.seconds
        )


def is_connect_failure(exc: BaseException) -> bool:
    """The request never reached the server: nothing was sent."""
    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)


async def _read_whole(
    response: httpx.Response, request: httpx.Request, limit: int
) -> httpx.Response:
    """The answer with its whole body read (decompressed), inside the attempt's deadline.

    A body larger than ``limit`` once inflated raises :class:`AnswerTooLarge` (a compressed
    answer can inflate a thousandfold). The returned response carries the body as read.
    """
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise AnswerTooLarge(
                    f"answer larger than {limit} bytes once decompressed: not read further",
                    request=request,
                )
            chunks.append(chunk)
    finally:
        await response.aclose()
    skip = {"content-encoding", "content-length", "transfer-encoding"}
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in skip]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=b"".join(chunks),
        request=request,
        extensions=dict(response.extensions),
    )


class _RetryRules:
    """The glue between tenacity and the policy, shared by both transports."""

    def __init__(self, policy: RetryPolicy, rng: random.Random, stats: RequestCounter) -> None:
        self.policy = policy
        self.rng = rng
        self.stats = stats

    def judge_response(
        self,
        response: httpx.Response,
        verdict: Verdict,
        pacer: AsyncPacer | None,
        slot: Slot | None,
    ) -> None:
        """Classify one answer, count it, and tell the shared budget what HubSpot said."""
        body = response.content if response.status_code >= 400 else b""  # read in _attempt
        verdict.kind = classify_status(response.status_code, response.headers, body)
        verdict.retry_after = (
            retry_after_seconds(response.headers) if verdict.kind is not Kind.OK else None
        )
        response.extensions[VERDICT] = verdict
        if response.status_code == 429:
            self.stats.count_rate_limited()
        if pacer is None or slot is None:
            return
        info = rate_limit_info(response.headers)
        if response.status_code >= 500 and info.max is None and info.remaining is None:
            pacer.release(slot)  # answered from in front of HubSpot's counter
            return
        rate_limited = verdict.kind is Kind.RATE_LIMITED
        pacer.settle(slot, info, refused=rate_limited and not verdict.retry_after)
        # Everyone waits, not just this worker; but a Retry-After beyond what we wait out
        # (1e9 s, a date in 2099) fails this request alone and blocks no one.
        if (
            rate_limited
            and verdict.retry_after
            and verdict.retry_after <= self.policy.max_retry_after
        ):
            pacer.block_for(verdict.retry_after)

    @staticmethod
    def unanswered(exc: BaseException, pacer: AsyncPacer | None, slot: Slot | None) -> None:
        """No answer: a slot comes back only if the request surely never reached the counter."""
        if pacer is None or slot is None:
            return
        never_arrived = isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout)
        if never_arrived or classify_exception(exc) is Kind.NETWORK:
            pacer.release(slot)
        else:
            pacer.settle(slot, None)  # a timeout or a cancel: it may still be counted

    def retrying_kwargs(
        self, verdict: Verdict, reachability: Reachability | None = None
    ) -> dict[str, Any]:
        def retry(state: tenacity.RetryCallState) -> bool:
            if state.outcome is not None and state.outcome.failed:
                error = state.outcome.exception()
                if isinstance(error, PacerClosed):
                    return False  # the run is stopping
                verdict.kind = classify_exception(error)  # type: ignore[arg-type]
                verdict.retry_after = None
            if reachability is not None and reachability.unreachable:
                return False
            return should_retry(verdict.kind, verdict.retry_after, self.policy)

        def wait(state: tenacity.RetryCallState) -> float:
            return wait_seconds(state.attempt_number, self.policy, self.rng, verdict.retry_after)

        def give_up(state: tenacity.RetryCallState) -> Any:
            # Out of attempts: hand back the last answer (or raise the last error) unchanged.
            assert state.outcome is not None
            return state.outcome.result()

        def before_sleep(state: tenacity.RetryCallState) -> None:
            self.stats.count_retry()
            outcome = state.outcome
            if outcome is not None and outcome.failed:
                what = repr(outcome.exception())
            else:
                what = f"HTTP {getattr(outcome.result(), 'status_code', '?') if outcome else '?'}"
            wait = state.next_action.sleep if state.next_action else 0.0
            log.info(
                "retry %d of a request after %s (%s), in %.2f s",
                state.attempt_number,
                what,
                verdict.kind.value,
                wait,
            )

        return {
            "stop": tenacity.stop_after_attempt(self.policy.max_attempts),
            "retry": retry,
            "wait": wait,
            "retry_error_callback": give_up,
            "before_sleep": before_sleep,
        }


class AsyncResilientTransport(httpx.AsyncBaseTransport):
    """An ``httpx.AsyncBaseTransport`` that paces, retries and counts; wraps the default one."""

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        policy: RetryPolicy | None = None,
        pacer: AsyncPacer | None = None,
        stats: RequestCounter | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        deadline: float = DEFAULT_ATTEMPT_DEADLINE_S,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
        reachability: Reachability | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.wrapped = transport if transport is not None else httpx.AsyncHTTPTransport()
        self.pacer = pacer
        self.stats = stats if stats is not None else _NoCounter()
        self.timeout = timeout
        self.deadline = deadline
        self.max_answer_bytes = max_answer_bytes
        self.reachability = reachability
        self._sleep = sleep
        self._rules = _RetryRules(policy or RetryPolicy(), rng or random.Random(), self.stats)  # noqa: S311 - jitter

    async def _pause(self, seconds: float) -> None:
        """Backoff between attempts; a stopping run (the pacer closed) cuts it short."""
        if self.pacer is None:
            await self._sleep(seconds)
        else:
            await self.pacer.pause(seconds, self._sleep)

    async def _attempt(self, request: httpx.Request, verdict: Verdict) -> httpx.Response:
        verdict.attempts += 1
        slot = None if self.pacer is None else await self.pacer.acquire(retry=verdict.attempts > 1)
        self.stats.count_request()
        started = time.monotonic()
        try:
            try:
                # The whole answer, body included, inside the retry loop and one deadline: a
                # server trickling a byte at a time cannot hold a batch open for ever, and a
                # cut or short body is retried like any other broken answer.
                async with asyncio.timeout(self.deadline):
                    response = await self.wrapped.handle_async_request(request)
                    response = await _read_whole(response, request, self.max_answer_bytes)
            except TimeoutError as exc:
                raise httpx.ReadTimeout(
                    f"no whole answer within {self.deadline:g} s", request=request
                ) from exc
        except BaseException as exc:
            self._rules.unanswered(exc, self.pacer, slot)
            if self.reachability is not None and is_connect_failure(exc):
                self.reachability.failed_to_connect()
            raise
        verdict.round_trip_s = time.monotonic() - started
        if self.reachability is not None:
            self.reachability.connected()
        self._rules.judge_response(response, verdict, self.pacer, slot)
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        _with_finite_timeout(request, self.timeout)
        verdict = Verdict()
        retrying = tenacity.AsyncRetrying(
            sleep=self._pause, **self._rules.retrying_kwargs(verdict, self.reachability)
        )
        response: httpx.Response = await retrying(self._attempt, request, verdict)
        return response

    async def aclose(self) -> None:
        await self.wrapped.aclose()
