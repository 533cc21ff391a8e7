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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import tenacity

from ._constants import DEFAULT_TIMEOUT
from ._pacing import AsyncPacer, Slot
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
        body = response.content if response.status_code >= 400 else b""  # read by _attempt
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
        if rate_limited and verdict.retry_after:
            pacer.block_for(verdict.retry_after)  # everyone waits, not just this worker

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

    def retrying_kwargs(self, verdict: Verdict) -> dict[str, Any]:
        def retry(state: tenacity.RetryCallState) -> bool:
            if state.outcome is not None and state.outcome.failed:
                verdict.kind = classify_exception(state.outcome.exception())  # type: ignore[arg-type]
                verdict.retry_after = None
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
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.wrapped = transport if transport is not None else httpx.AsyncHTTPTransport()
        self.pacer = pacer
        self.stats = stats if stats is not None else _NoCounter()
        self.timeout = timeout
        self._sleep = sleep
        self._rules = _RetryRules(policy or RetryPolicy(), rng or random.Random(), self.stats)  # noqa: S311 - jitter

    async def _attempt(self, request: httpx.Request, verdict: Verdict) -> httpx.Response:
        verdict.attempts += 1
        slot = None if self.pacer is None else await self.pacer.acquire(retry=verdict.attempts > 1)
        self.stats.count_request()
        try:
            response = await self.wrapped.handle_async_request(request)
            if response.status_code >= 400:
                await response.aread()  # error bodies are small; reading frees the connection
        except BaseException as exc:
            self._rules.unanswered(exc, self.pacer, slot)
            raise
        self._rules.judge_response(response, verdict, self.pacer, slot)
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        _with_finite_timeout(request, self.timeout)
        verdict = Verdict()
        retrying = tenacity.AsyncRetrying(sleep=self._sleep, **self._rules.retrying_kwargs(verdict))
        response: httpx.Response = await retrying(self._attempt, request, verdict)
        return response

    async def aclose(self) -> None:
        await self.wrapped.aclose()
