"""One HubSpot budget for every run of one app, kept in Redis (``--shared-budget redis://...``).

HubSpot's rolling-window limit belongs to the app (the token), not to a process: N runs that
each pace themselves to the whole budget send up to N times it together. With a shared budget,
every attempt of every run that names the same Redis and the same budget key first takes an
entry in one moving window there, sized by the budget (``--rate-limit``, else HubSpot's
smallest tier) and tightened by the rate-limit headers each run sees.

The window is :mod:`limits`' ``MovingWindowRateLimiter`` on its Redis storage (redis-py's
asyncio client), chosen over pyrate-limiter's Redis bucket because:

- the limit is given at each call, so a lower ``X-HubSpot-RateLimit-Max`` applies to the next
  attempt at once (pyrate-limiter fixes its rates when the bucket is built);
- an entry is taken atomically by the library's own script, and the window's statistics give
  the moment its oldest entry ages out, so a waiter sleeps exactly until a slot can free:
  no polling loop;
- the key is a list trimmed to the limit with an expiry of one window: entries of a run that
  was killed age out with the window, and an idle budget leaves nothing behind in Redis
  (pyrate-limiter's sorted set needs a background leak task to shrink).

Its windows are whole seconds, which HubSpot's (10 s) are; a non-whole window is rounded up.
Timestamps are each client's wall clock: machines sharing a budget need NTP-synchronised clocks.

The local :class:`~._pacing.RequestBudget` still runs inside each run: its own attempts hold
slots from their start until HubSpot has surely forgotten them, a lower ``-Max`` tightens it,
``Retry-After`` blocks it, and a 429 fills it for a window. A 429 also fills the shared window,
so every run waits. Its ``-Remaining`` reconciliation (holding phantoms for requests someone
else sent) is off while the shared window counts those runs already: counting them twice would
waste the budget. The shared window admits at most the budget less a small margin (2 %, at
least one request) for the spread between when an attempt takes its entry and when HubSpot
counts it.

Faults: Redis unreachable at the start is a :class:`SharedBudgetError` (a
:class:`~._config.ConfigError`: nothing was sent). Redis lost mid-run: the run goes on with the
local pacer alone at a conservative share of the budget (``1 / max(4, runs seen)``) with its
reconciliation back on, logs a warning, and says so in :attr:`SharedAsyncPacer.fallback_reason`;
no record is dropped, and the run does not go back to Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import redis.asyncio
import redis.exceptions
from limits import RateLimitItemPerSecond
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from ._config import ConfigError, Secret
from ._pacing import AsyncPacer, Clock, RateLimit, RequestBudget, Slot
from ._retry_policy import RateLimitInfo

log = logging.getLogger("hubspot_postal_mail")

SHARED_BUDGET_ENV = "HUBSPOT_SHARED_BUDGET"
KEY_PREFIX = "hubspot-postal-mail"
FALLBACK_SHARERS = 4  # on losing Redis, assume at least this many runs share the budget
MARGIN = 0.02  # the share of the budget the shared window leaves unused
REDIS_TIMEOUT_S = 2.0  # a Redis that does not answer in this long counts as lost
MIN_WAIT_S = 0.005  # after losing a race for the last entry: look again this soon
SCHEMES = ("redis", "rediss", "unix")


class SharedBudgetError(ConfigError):
    """The shared budget cannot be used (bad URL, Redis unreachable): nothing was sent."""


def budget_key(token: str | Secret) -> str:
    """The default budget key: one per app, from a hash of its token (never the token)."""
    value = token.reveal() if isinstance(token, Secret) else token
    return "budget:" + hashlib.sha256(value.encode()).hexdigest()[:16]


def describe_url(url: str) -> str:
    """The Redis URL without credentials, for messages and logs."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix://{parts.path}"
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


# What a lost or unreachable Redis raises, through redis-py or limits.
REDIS_ERRORS: tuple[type[BaseException], ...] = (
    redis.exceptions.RedisError,
    OSError,
    StorageError,
    asyncio.TimeoutError,
)


class _Window(RateLimitItemPerSecond):
    """A limits window stored under the budget key alone, whatever limit a run has learned."""

    __slots__ = ("key",)

    def __init__(self, amount: int, seconds: int, key: str) -> None:
        super().__init__(amount, seconds)
        self.key = key

    def key_for(self, *identifiers: bytes | str | int | float) -> str:
        return self.key


class _Budget(RequestBudget):
    """The local budget of a run that shares its window: no phantoms while sharing."""

    shared = True

    def _reconcile(self, slot: Slot, info: RateLimitInfo, now: float, *, refused: bool) -> None:
        if self.shared and not refused:
            return  # the shared window counts the other runs already
        super()._reconcile(slot, info, now, refused=refused)


class SharedAsyncPacer(AsyncPacer):
    """An :class:`~._pacing.AsyncPacer` that also draws every attempt from the shared window.

    An attempt first gets a slot from the local pacer (its order: retries first, then first
    attempts in turn), then, one waiter of this run at a time, an entry in the shared window.
    Build it with :func:`connect_shared_pacer`.
    """

    def __init__(
        self,
        budget: RequestBudget,
        *,
        client: redis.asyncio.Redis,
        key: str,
        clock: Clock = time.monotonic,
        wall: Clock = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        url: str = "redis://",
    ) -> None:
        super().__init__(budget, clock=clock, sleep=sleep)
        self.key = key
        self.fallback_reason: str | None = None
        self.runs_seen = 1
        self._client = client
        self._wall = wall
        self._redis_turn = asyncio.Lock()  # one waiter of this run talks to Redis at a time
        self._storage = RedisStorage(
            "async+" + url,
            implementation="redispy",
            key_prefix=KEY_PREFIX,
            connection_pool=client.connection_pool,  # type: ignore[arg-type]  # limits passes it on
        )
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._run_id = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._next_heartbeat = float("-inf")
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def window(self) -> _Window:
        """The shared window as limits sees it: the budget less the margin, whole seconds."""
        limit = self.budget.limit
        amount = max(1, limit - max(1, math.ceil(limit * MARGIN))) if limit > 1 else 1
        return _Window(amount, math.ceil(self.budget.interval), self.key)

    async def acquire(self, *, retry: bool = False) -> Slot:
        slot = await super().acquire(retry=retry)
        if self.fallback_reason is not None:
            return slot
        try:
            async with self._redis_turn:
                await self._draw()
        except BaseException:
            self.release(slot)
            raise
        slot.start = self._clock()  # the attempt starts now, not when it began to wait
        return slot

    async def _draw(self) -> None:
        """Take an entry in the shared window, sleeping until its oldest entry ages out."""
        while self.fallback_reason is None:
            window = self.window
            try:
                await self._heartbeat()
                if await self._limiter.hit(window):
                    return
                stats = await self._limiter.get_window_stats(window)
            except REDIS_ERRORS as exc:
                self._fall_back(exc)
                return
            wait = MIN_WAIT_S if stats.remaining > 0 else stats.reset_time - self._wall()
            await self._sleep(max(wait, MIN_WAIT_S))

    async def _heartbeat(self) -> None:
        """Say this run is alive, and count the runs seen lately (for the fallback share)."""
        now = self._wall()
        if now < self._next_heartbeat:
            return
        interval = self.budget.interval
        self._next_heartbeat = now + interval
        runs = f"{KEY_PREFIX}:{self.key}:runs"
        pipe = self._client.pipeline(transaction=False)
        pipe.zadd(runs, {self._run_id: now})
        pipe.zremrangebyscore(runs, "-inf", now - 3 * interval)
        pipe.zcard(runs)
        pipe.expire(runs, math.ceil(6 * interval))
        answers = await pipe.execute()
        self.runs_seen = max(1, int(answers[2]))

    def _fall_back(self, exc: BaseException) -> None:
        if self.fallback_reason is not None:
            return
        sharers = max(FALLBACK_SHARERS, self.runs_seen)
        self.fallback_reason = (
            f"Redis lost mid-run ({type(exc).__name__}): paced locally at 1/{sharers} of the budget"
        )
        budget = self.budget
        budget.limit = max(1, budget.limit // sharers)
        if isinstance(budget, _Budget):
            budget.shared = False  # see who else spends the budget in HubSpot's headers again
        log.warning("shared budget: %s", self.fallback_reason)

    def settle(self, slot: Slot, info: RateLimitInfo | None, *, refused: bool = False) -> None:
        super().settle(slot, info, refused=refused)
        if refused and self.fallback_reason is None:
            task = asyncio.ensure_future(self._fill())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _fill(self) -> None:
        """A 429: HubSpot's window is full, so the shared one is filled for every run."""
        window = self.window
        try:
            stats = await self._limiter.get_window_stats(window)
            if stats.remaining > 0:
                await self._limiter.hit(window, cost=stats.remaining)
        except REDIS_ERRORS as exc:
            self._fall_back(exc)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(*REDIS_ERRORS):
            await self._client.zrem(f"{KEY_PREFIX}:{self.key}:runs", self._run_id)
        await self._client.aclose()


async def connect_shared_pacer(
    url: str,
    *,
    token: str | Secret,
    rate: RateLimit,
    key: str | None = None,
    redis_timeout: float = REDIS_TIMEOUT_S,
) -> SharedAsyncPacer:
    """A :class:`SharedAsyncPacer` on the Redis at ``url``; :class:`SharedBudgetError` if it
    cannot be used, before anything is sent."""
    scheme = urlsplit(url).scheme
    if scheme not in SCHEMES:
        raise SharedBudgetError(
            f"shared budget: {describe_url(url)!r} is not a Redis URL "
            "(redis://host:port/db, rediss://... or unix:///path)"
        )
    client = redis.asyncio.Redis.from_url(
        url, socket_timeout=redis_timeout, socket_connect_timeout=redis_timeout
    )
    try:
        await client.ping()
    except REDIS_ERRORS as exc:
        await client.aclose()
        raise SharedBudgetError(
            f"shared budget: cannot reach Redis at {describe_url(url)} "
            f"({type(exc).__name__}: {exc}); start it, fix the URL or leave out the shared budget"
        ) from None
    pacer = SharedAsyncPacer(_Budget(rate), client=client, key=key or budget_key(token), url=url)
    return pacer


__all__ = [
    "SHARED_BUDGET_ENV",
    "SharedAsyncPacer",
    "SharedBudgetError",
    "budget_key",
    "connect_shared_pacer",
]
