"""One HubSpot budget for every run of one app, kept in Redis (``--shared-budget redis://...``).

HubSpot's rolling-window limit belongs to the app (the token), not to a process: N runs that
each pace themselves to the whole budget send up to N times it together. With a shared budget,
every attempt of every run that names the same Redis and the same budget key first takes a
slot in one window there, sized by the budget (``--rate-limit``, else HubSpot's smallest tier)
and tightened by the rate-limit headers each run sees.

The window keeps the local pacer's rule (see :mod:`._pacing`): a slot is held from the
attempt's start until HubSpot has surely forgotten it, a window after its answer less the
fastest round trip seen. HubSpot counts a request somewhere between its sending and its answer,
and a busy server counts a burst's requests over seconds; a window that frees each slot one
window after its *start* lets the next window's requests in while the last ones are still
counted. In Redis: a sorted set per budget key, one member per attempt, scored by when it
frees; an attempt takes a slot when fewer than the limit are held (one small script, atomic),
its answer moves its score on (``ZADD XX GT``), an attempt that never reached HubSpot removes
it (``ZREM``), and a waiter sleeps until the soonest score: no polling. A run killed mid-flight
leaves members that free a window after their start, as any unanswered attempt's would; the
key itself expires when idle.

Why not a library's window: both candidates stamp an entry when it is taken and cannot move it,
so they free slots one window after the start. Measured (``benchmarks/shared_budget_run.py``:
four jobs of 25,000 records at 100 requests per 10 s, 0.5 s answers, on a 2-core machine)
against the goals of at most 1 % 429s and at least 0.90 of the budget: ``limits`` 5.8
(``MovingWindowRateLimiter`` on its Redis storage, 2 % margin, machine loaded): 71 of 1,071
requests answered 429 (6.6 %), 0.83 of the budget. ``pyrate-limiter`` 4.5.1
(``Limiter.try_acquire_async`` on a ``RedisBucket``, ``benchmarks/pyrate_window.py``; its
entries carry a random suffix of its own, so an answer cannot find its entry to move it): in
two runs 43 of 1,043 (4.1 %) and 27 of 1,027 (2.6 %) answered 429, 0.89 of the budget both
times, where this window, in the same runs, had no 429 and 0.97 and 0.95; with a 2 % margin,
in three runs of its own, 1.2 % to 4.7 % 429s and 0.82 to 0.90. The script here is a dozen
lines; :mod:`redis` (redis-py's asyncio client) runs it.

The local :class:`~._pacing.RequestBudget` still runs inside each run: its own attempts hold
slots there too, a lower ``X-HubSpot-RateLimit-Max`` tightens it (and so the limit this run
asks the shared window for), ``Retry-After`` blocks it, and a 429 fills it for a window. A 429
also fills the shared window, so every run waits. Its ``-Remaining`` reconciliation (holding
phantoms for requests someone else sent) is off while the shared window counts those runs:
counting them twice would waste the budget. Slots are wall-clock times: machines sharing a
budget need NTP-synchronised clocks.

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
import itertools
import logging
import math
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import redis.asyncio
import redis.exceptions

from ._config import Secret
from ._exceptions import ConfigError
from ._pacing import AsyncPacer, Clock, RequestBudget, Slot
from ._rate_limits import RateLimit, RateLimitInfo

log = logging.getLogger("hubspot_postal_mail")

SHARED_BUDGET_ENV = "HUBSPOT_SHARED_BUDGET"
KEY_PREFIX = "hubspot-postal-mail"
FALLBACK_SHARERS = 4  # on losing Redis, assume at least this many runs share the budget
REDIS_TIMEOUT_S = 2.0  # a Redis that does not answer in this long counts as lost
MIN_WAIT_S = 0.002  # a waiter never sleeps less (the soonest slot may free "now")
IDLE_TTL_S = 60.0  # an idle budget's keys go this long after their last slot frees
SCHEMES = ("redis", "rediss", "unix")

# Take a slot if fewer than the limit are held; else say when the soonest one needed frees.
# KEYS[1]: the window. ARGV: now, limit, frees_at, member, ttl_ms (all times in seconds).
TAKE = """
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local held = redis.call('ZCARD', KEYS[1])
if held < limit then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return {1, ''}
end
local soonest = redis.call('ZRANGE', KEYS[1], held - limit, held - limit, 'WITHSCORES')
return {0, soonest[2]}
"""

# A 429: HubSpot's window is full now, so fill the shared one until ``until``.
# KEYS[1]: the window. ARGV: now, limit, until, member prefix, ttl_ms.
FILL = """
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local missing = tonumber(ARGV[2]) - redis.call('ZCARD', KEYS[1])
for i = 1, missing do
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4] .. i)
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return missing
"""

# What a lost or unreachable Redis raises through redis-py.
REDIS_ERRORS: tuple[type[BaseException], ...] = (
    redis.exceptions.RedisError,
    OSError,
    asyncio.TimeoutError,
)


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


class _Budget(RequestBudget):
    """The local budget of a run that shares its window: no phantoms while sharing."""

    shared = True

    @property
    def fastest(self) -> float:
        """The fastest round trip seen after the first window (0 before: hold the longest)."""
        return self._fastest or 0.0

    def _reconcile(self, slot: Slot, info: RateLimitInfo, now: float, *, refused: bool) -> None:
        if self.shared and not refused:
            return  # the shared window counts the other runs already
        super()._reconcile(slot, info, now, refused=refused)


class SharedAsyncPacer(AsyncPacer):
    """An :class:`~._pacing.AsyncPacer` that also draws every attempt from the shared window.

    An attempt first gets a slot from the local pacer (its order: retries first, then first
    attempts in turn), then, one waiter of this run at a time, a slot in the shared window.
    Build it with :func:`connect_shared_pacer`.
    """

    def __init__(
        self,
        budget: _Budget,
        *,
        client: redis.asyncio.Redis,
        key: str,
        clock: Clock = time.monotonic,
        wall: Clock = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(budget, clock=clock, sleep=sleep)
        self.shared_budget = budget
        self.key = key
        self.fallback_reason: str | None = None
        self.runs_seen = 1
        self._client = client
        self._wall = wall
        self._window_key = f"{KEY_PREFIX}:{key}"
        self._runs_key = f"{KEY_PREFIX}:{key}:runs"
        self._take_script = client.register_script(TAKE)
        self._fill_script = client.register_script(FILL)
        self._redis_turn = asyncio.Lock()  # one waiter of this run talks to Redis at a time
        self._run_id = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._serial = itertools.count()
        self._members: dict[Slot, str] = {}  # each attempt's member in the shared window
        self._next_heartbeat = float("-inf")
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def limit(self) -> int:
        """The limit asked of the shared window: the budget, as HubSpot's headers tightened it."""
        return self.budget.limit

    def _ttl_ms(self) -> int:
        return math.ceil((2 * self.budget.window + IDLE_TTL_S) * 1000)

    async def acquire(self, *, retry: bool = False) -> Slot:
        slot = await super().acquire(retry=retry)
        if self.fallback_reason is not None:
            return slot
        try:
            async with self._redis_turn:
                member = await self._draw()
        except BaseException:
            super().release(slot)
            raise
        slot.start = self._clock()  # the attempt starts now, not when it began to wait
        if member is not None:
            self._members[slot] = member
        return slot

    async def _draw(self) -> str | None:
        """Take a slot in the shared window, sleeping until the soonest one frees."""
        while self.fallback_reason is None:
            member = f"{self._run_id}:{next(self._serial)}"
            now = self._wall()
            try:
                await self._heartbeat(now)
                taken, frees = await self._take_script(
                    keys=[self._window_key],
                    args=[now, self.limit, now + self.budget.window, member, self._ttl_ms()],
                )
            except REDIS_ERRORS as exc:
                self._fall_back(exc)
                return None
            if int(taken):
                return member
            await self._sleep(max(float(frees) - self._wall(), MIN_WAIT_S))
        return None

    async def _heartbeat(self, now: float) -> None:
        """Say this run is alive, and count the runs seen lately (for the fallback share)."""
        if now < self._next_heartbeat:
            return
        interval = self.budget.window
        self._next_heartbeat = now + interval
        pipe = self._client.pipeline(transaction=False)
        pipe.zadd(self._runs_key, {self._run_id: now})
        pipe.zremrangebyscore(self._runs_key, "-inf", now - 3 * interval)
        pipe.zcard(self._runs_key)
        pipe.pexpire(self._runs_key, self._ttl_ms())
        answers = await pipe.execute()
        self.runs_seen = max(1, int(answers[2]))

    def _fall_back(self, exc: BaseException) -> None:
        if self.fallback_reason is not None:
            return
        sharers = max(FALLBACK_SHARERS, self.runs_seen)
        self.fallback_reason = (
            f"Redis lost mid-run ({type(exc).__name__}): paced locally at 1/{sharers} of the budget"
        )
        self.budget.limit = max(1, self.budget.limit // sharers)
        self.shared_budget.shared = False  # see others in HubSpot's headers again
        self._members.clear()
        log.warning("shared budget: %s", self.fallback_reason)

    def _in_background(self, work: Awaitable[object]) -> None:
        """Tell Redis without holding up the attempt; losing Redis there means the fallback."""

        async def guarded() -> None:
            try:
                await work
            except REDIS_ERRORS as exc:
                self._fall_back(exc)

        task = asyncio.ensure_future(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def settle(self, slot: Slot, info: RateLimitInfo | None, *, refused: bool = False) -> None:
        """As the local pacer, and the shared slot held until HubSpot has surely forgotten it."""
        super().settle(slot, info, refused=refused)
        member = self._members.pop(slot, None)
        if member is None or self.fallback_reason is not None:
            return
        now = self._wall()
        window = self.budget.window
        if refused:
            self._in_background(
                self._fill_script(
                    keys=[self._window_key],
                    args=[now, self.limit, now + window, f"{member}:429:", self._ttl_ms()],
                )
            )
            return
        fastest = 0.0 if info is None else self.shared_budget.fastest
        frees = now - fastest + window
        self._in_background(self._client.zadd(self._window_key, {member: frees}, xx=True, gt=True))

    def release(self, slot: Slot) -> None:
        """The attempt never reached HubSpot's counter: its shared slot is free again too."""
        super().release(slot)
        member = self._members.pop(slot, None)
        if member is not None and self.fallback_reason is None:
            self._in_background(self._client.zrem(self._window_key, member))

    async def aclose(self) -> None:
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(*REDIS_ERRORS):
            await self._client.zrem(self._runs_key, self._run_id)
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
    return SharedAsyncPacer(_Budget(rate), client=client, key=key or budget_key(token))


__all__ = [
    "SHARED_BUDGET_ENV",
    "SharedAsyncPacer",
    "SharedBudgetError",
    "budget_key",
    "connect_shared_pacer",
]
