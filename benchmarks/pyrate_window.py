"""For measurement only: the shared window as pyrate-limiter's Redis bucket, not the project's.

Issue 13 asked for a library's window (``limits`` or ``pyrate-limiter``) unless measurement
showed neither could hold the budget. This is the ``pyrate-limiter`` candidate, run by
``benchmarks/shared_budget_run.py --pyrate`` in place of the project's window; the product never
imports it. It is :class:`~hubspot_postal_mail._shared_budget.SharedAsyncPacer` (local budget
underneath, heartbeat, fallback on a lost Redis) with the window swapped:

- take a slot: ``Limiter.try_acquire_async(key, weight=1, blocking=True)`` on a ``RedisBucket``
  holding one ``Rate(limit, window)`` (sliding-window log): the library sleeps until the
  soonest entry leaves the window (plus its ``buffer_ms``) and tries again;
- hold it past the request's start: **the library cannot**. Its entries are scored with the
  time they were taken and named with a random suffix of its own, so an answer can neither
  find its entry nor move it on; each slot frees one window after the attempt started;
- give back a slot whose attempt never reached HubSpot: **cannot** either (same reason);
- ``PYRATE_MARGIN=0.02``: leave that share of the budget unused, as ``limits`` was measured;
- a 429: fill the window, as the project does, by taking what is left of it in one weight
  (``blocking=False``), counted with the bucket's own key.

Run as ``python -m benchmarks.pyrate_window upsert ...``: the ``postal-mail`` command with
``--shared-budget`` served by this window.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

import redis.asyncio
from pyrate_limiter import Duration, Limiter, Rate, RedisBucket

from hubspot_postal_mail import _shared_budget
from hubspot_postal_mail._config import Secret
from hubspot_postal_mail._pacing import AsyncPacer, Slot
from hubspot_postal_mail._rate_limits import RateLimit, RateLimitInfo
from hubspot_postal_mail._shared_budget import (
    KEY_PREFIX,
    REDIS_ERRORS,
    REDIS_TIMEOUT_S,
    SharedAsyncPacer,
    _Budget,
    connect_shared_pacer,
)

MARGIN_ENV = "PYRATE_MARGIN"  # share of the budget the library's window leaves unused (0.02)


class PyrateAsyncPacer(SharedAsyncPacer):
    """The project's shared pacer with pyrate-limiter's Redis bucket as the shared window."""

    def __init__(self, budget: _Budget, *, client: redis.asyncio.Redis, key: str) -> None:
        super().__init__(budget, client=client, key=key)
        self._bucket_key = f"{KEY_PREFIX}:pyrate:{key}"
        self._limiter: Limiter | None = None
        self._limiter_limit = 0
        self._margin = float(os.environ.get(MARGIN_ENV, "0"))

    @property
    def limit(self) -> int:
        """The budget as headers tightened it, less the margin (none unless ``PYRATE_MARGIN``)."""
        limit = self.budget.limit
        return max(1, limit - math.ceil(limit * self._margin)) if self._margin else limit

    async def _window(self) -> Limiter:
        """The library's limiter at the limit this run asks for (its rates are fixed: a
        tighter ``X-HubSpot-RateLimit-Max`` means a new bucket object on the same key)."""
        if self._limiter is None or self._limiter_limit != self.limit:
            if self._limiter is not None:
                self._limiter.close()
            rate = Rate(self.limit, Duration.SECOND * self.budget.window)
            bucket: Any = await RedisBucket.init([rate], self._client, self._bucket_key)
            self._limiter = Limiter(bucket)
            self._limiter_limit = self.limit
        return self._limiter

    async def _draw(self) -> str | None:
        """Take a slot, the library sleeping until one frees; no member to move later."""
        try:
            await self._heartbeat(time.time())
            limiter = await self._window()
            await limiter.try_acquire_async(self.key, weight=1, blocking=True)
        except REDIS_ERRORS as exc:
            self._fall_back(exc)
        return None

    async def _fill(self) -> None:
        """A 429: take what is left of the window now, so every run waits."""
        limiter = await self._window()
        now_ms = time.time_ns() // 1_000_000
        window_ms = round(self.budget.window * 1000)
        held = await self._client.zcount(self._bucket_key, now_ms - window_ms, now_ms)
        missing = self.limit - int(held)
        if missing > 0:
            await limiter.try_acquire_async(self.key, weight=missing, blocking=False)

    def settle(self, slot: Slot, info: RateLimitInfo | None, *, refused: bool = False) -> None:
        """The local budget as the project's; the shared entry stays stamped at the start."""
        AsyncPacer.settle(self, slot, info, refused=refused)
        if refused and self.fallback_reason is None:
            self._in_background(self._fill())

    def release(self, slot: Slot) -> None:
        """Local only: the library's entry cannot be found to be removed."""
        AsyncPacer.release(self, slot)

    async def aclose(self) -> None:
        if self._limiter is not None:
            self._limiter.close()
        await super().aclose()


async def connect_pyrate_pacer(
    url: str,
    *,
    token: str | Secret,
    rate: RateLimit,
    key: str | None = None,
    redis_timeout: float = REDIS_TIMEOUT_S,
) -> SharedAsyncPacer:
    """As :func:`~hubspot_postal_mail._shared_budget.connect_shared_pacer` (its checks, its
    client), with pyrate-limiter's window."""
    project = await connect_shared_pacer(
        url, token=token, rate=rate, key=key, redis_timeout=redis_timeout
    )
    return PyrateAsyncPacer(project.shared_budget, client=project._client, key=project.key)


def main() -> None:
    """``postal-mail`` with the shared window swapped (the product resolves it at call time)."""
    _shared_budget.connect_shared_pacer = connect_pyrate_pacer
    from hubspot_postal_mail._cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
