"""One request budget shared by every concurrent worker, kept under HubSpot's rolling window.

HubSpot counts requests in a rolling window (100 per 10 s on the smallest tier), so the budget
is a sliding-window log: a request may start only when fewer than ``limit`` started in the last
``window`` seconds. A small safety margin lengthens the window so that network jitter between
our clock and HubSpot's does not push two window-spaced requests into one window. The budget
only ever tightens from what HubSpot reports: a lower ``X-HubSpot-RateLimit-Max``, a
``-Remaining`` below our own count (someone else spends the same app's budget, or a 429
says the window is full), a ``Retry-After``.

No library fits: pyrate-limiter's buckets have fixed rates and cannot take in the server's
remaining count, and aiolimiter's leaky bucket lets a full burst through at each window edge,
which a rolling-window server answers with 429s.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .retry_policy import RateLimitInfo

Clock = Callable[[], float]


@dataclass(frozen=True)
class RateLimit:
    """``requests`` per ``seconds``: the budget, as in ``--rate-limit N/SECONDS``."""

    requests: int
    seconds: float

    def __post_init__(self) -> None:
        if self.requests < 1 or not self.seconds > 0:
            raise ValueError("a rate limit needs at least 1 request per a positive interval")

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """``"100/10"`` or ``"20/1s"``: N requests per SECONDS seconds."""
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*s?\s*", text)
        if not match:
            raise ValueError(f"rate limit must look like N/SECONDS (e.g. 100/10), got {text!r}")
        return cls(int(match.group(1)), float(match.group(2)))

    @classmethod
    def coerce(cls, value: RateLimit | str | tuple[int, float] | None) -> RateLimit:
        if value is None:
            return DEFAULT_RATE_LIMIT
        if isinstance(value, RateLimit):
            return value
        if isinstance(value, str):
            return cls.parse(value)
        return cls(int(value[0]), float(value[1]))


DEFAULT_RATE_LIMIT = RateLimit(100, 10.0)


class RequestBudget:
    """The shared budget itself, driven by an explicit clock so every rule is testable.

    Not thread-safe: :class:`AsyncPacer` uses it from one event loop, :class:`Pacer` under a lock.
    """

    def __init__(self, rate: RateLimit = DEFAULT_RATE_LIMIT, *, safety: float = 0.01) -> None:
        if not 0 <= safety < 1:
            raise ValueError("safety must be in [0, 1)")
        self.configured = rate
        self.safety = safety
        self.limit = rate.requests
        self.interval = rate.seconds  # the server's window length we pace against
        self._starts: deque[float] = deque()
        self._blocked_until = float("-inf")

    @property
    def window(self) -> float:
        """The window we enforce: the interval plus the safety margin."""
        return self.interval * (1 + self.safety)

    def _expire(self, now: float) -> None:
        edge = now - self.window
        while self._starts and self._starts[0] <= edge:
            self._starts.popleft()

    def used(self, now: float) -> int:
        """Requests (and phantom requests) counted in the window ending now."""
        self._expire(now)
        return len(self._starts)

    def reserve(self, now: float) -> float:
        """Take a slot and return 0, or return how long to wait before asking again."""
        if now < self._blocked_until:
            return self._blocked_until - now
        self._expire(now)
        if len(self._starts) < self.limit:
            self._starts.append(now)
            return 0.0
        return max(self._starts[0] + self.window - now, 1e-6)

    def block_until(self, until: float) -> None:
        """No request starts before ``until`` (a Retry-After)."""
        self._blocked_until = max(self._blocked_until, until)

    def observe(self, info: RateLimitInfo, now: float) -> None:
        """Tighten the budget from one answer's rate-limit headers (never loosen it)."""
        if (
            info.max is not None
            and info.interval_s is not None
            and info.max / info.interval_s <= self.limit / self.interval
            and (info.max, info.interval_s) != (self.limit, self.interval)
        ):
            # The server allows less than (or as much as, over another window) we were
            # told: pace against its window from now on.
            self.limit, self.interval = info.max, info.interval_s
        same_window = info.interval_s is None or info.interval_s == self.interval
        remaining = info.remaining
        if remaining is None or not same_window:
            return
        local_left = self.limit - self.used(now)
        # Our own count includes requests sent after this answer was made, so if HubSpot has
        # fewer slots left than we think, someone else spends them: count the gap here too,
        # as if started now.
        for _ in range(local_left - remaining):
            self._starts.append(now)


class AsyncPacer:
    """The budget for asyncio workers: ``await acquire()`` before each request, FIFO."""

    def __init__(
        self,
        budget: RequestBudget,
        *,
        clock: Clock = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.budget = budget
        self._clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while (wait := self.budget.reserve(self._clock())) > 0:
                await self._sleep(wait)

    def observe(self, info: RateLimitInfo) -> None:
        self.budget.observe(info, self._clock())

    def block_for(self, seconds: float) -> None:
        self.budget.block_until(self._clock() + seconds)


class Pacer:
    """The budget for threads (the sync transport): ``acquire()`` blocks until a slot is free."""

    def __init__(
        self,
        budget: RequestBudget,
        *,
        clock: Clock = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.budget = budget
        self._clock = clock
        self._sleep = sleep
        self._turn = threading.Lock()  # FIFO-ish: one waiter at a time
        self._state = threading.Lock()  # guards the budget itself

    def acquire(self) -> None:
        with self._turn:
            while True:
                with self._state:
                    wait = self.budget.reserve(self._clock())
                if wait <= 0:
                    return
                self._sleep(wait)

    def observe(self, info: RateLimitInfo) -> None:
        with self._state:
            self.budget.observe(info, self._clock())

    def block_for(self, seconds: float) -> None:
        with self._state:
            self.budget.block_until(self._clock() + seconds)
