"""One request budget shared by every concurrent worker, kept under HubSpot's rolling window.

HubSpot counts requests in a rolling window (100 per 10 s on the smallest tier). It counts a
request somewhere between our sending it and its answer arriving, so each attempt holds a slot
from its start until HubSpot has surely forgotten it: a window after the answer, less the
fastest round trip seen (the fastest path to HubSpot's counter and back), plus a small safety
margin. A request may start only when fewer than ``limit`` slots are held. So a slow answer,
which may have been counted late, holds its slot longer; no guess at clock skew is needed. An
attempt that never reached the counter (a refused or dropped connection, or a 5xx without
rate-limit headers, sent from in front of it) gives its slot back at once, so retrying such a
fault costs no budget; an attempt with no answer at all (a timeout) is held as if just counted.

The budget only ever tightens from what HubSpot reports: a lower ``X-HubSpot-RateLimit-Max``;
a ``-Remaining`` showing more requests in HubSpot's window than ours could explain when it
counted this one (someone else spends the same app's budget: those are held as phantoms for a
window); a 429 (the window it reports is full: the budget is filled for that window); a
``Retry-After``.

No library fits: pyrate-limiter's buckets have fixed rates and cannot take in the server's
remaining count, and aiolimiter's leaky bucket lets a full burst through at each window edge,
which a rolling-window server answers with 429s.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ._config import Secret
from ._exceptions import ConfigError
from ._rate_limits import DEFAULT_RATE_LIMIT, RateLimit, RateLimitInfo

Clock = Callable[[], float]
# What rate-limit headers may impose at most: a window up to a minute, at least 1 request/s.
MAX_HEADER_WINDOW_S = 60.0
MIN_HEADER_RATE = 1.0


class PacerClosed(Exception):
    """The run is stopping: no new attempt may start, and waits end at once."""


@dataclass(eq=False)
class Slot:
    """One attempt's place in the budget, taken before it is sent and handed back after."""

    start: float
    held: int  # slots held when it started, itself and phantoms included
    serial: int  # slots taken before it, phantoms included


class RequestBudget:
    """The shared budget itself, driven by an explicit clock so every rule is testable.

    Not thread-safe: :class:`AsyncPacer` uses it from one event loop.
    """

    def __init__(self, rate: RateLimit = DEFAULT_RATE_LIMIT, *, safety: float = 0.005) -> None:
        if not 0 <= safety < 1:
            raise ValueError("safety must be in [0, 1)")
        self.configured = rate
        self.safety = safety
        self.limit = rate.requests
        self.interval = rate.seconds  # the server's window length we pace against
        self._in_flight: dict[Slot, None] = {}  # sent, not answered; in start order
        # (answer, start) of each answered attempt, in the order the answers came
        self._answered: deque[tuple[float, float]] = deque()
        self._fastest: float | None = None  # the fastest round trip of an answered attempt
        self._warm_from: float | None = None  # attempts started from then on show round trips
        self._frees: list[float] = []  # heap: when each phantom (or unanswered attempt) frees
        self._taken = 0
        self._blocked_until = float("-inf")

    @property
    def window(self) -> float:
        """The window we enforce: the interval plus the safety margin."""
        return self.interval * (1 + self.safety)

    def used(self, now: float) -> int:
        """Slots held now: attempts in flight or not yet surely forgotten, and phantoms."""
        # An answered attempt's slot frees a window after its answer less the fastest round
        # trip: HubSpot counted it by the answer less its way back, and counts the next request
        # no sooner than the way there after it starts; the fastest round trip seen is no longer
        # than those two ways. (The fastest so far: it only shrinks, so holds only lengthen.)
        # Never before a window after its own start, though: its way back is no longer than its
        # own round trip, which may be shorter than the fastest measured (the first window's
        # are not measured), and HubSpot cannot have counted it before it was sent.
        while self._answered and now >= self._frees_at(*self._answered[0]):
            self._answered.popleft()
        while self._frees and self._frees[0] <= now:
            heapq.heappop(self._frees)
        return len(self._in_flight) + len(self._answered) + len(self._frees)

    def _frees_at(self, answer: float, start: float) -> float:
        """When an answered attempt's slot frees; see :meth:`used`."""
        return max(answer - (self._fastest or 0.0), start) + self.window

    def reserve(self, now: float) -> Slot | float:
        """Take a slot, or return how long to wait before asking again."""
        if now < self._blocked_until:
            return self._blocked_until - now
        held = self.used(now)
        if held < self.limit:
            if self._warm_from is None:
                self._warm_from = now + self.window
            slot = Slot(now, held + 1, self._taken)
            self._taken += 1
            self._in_flight[slot] = None
            return slot
        # No slot frees before its start plus a window; past that, one in flight frees on its
        # answer: look again shortly.
        soonest = min(
            self._frees_at(*self._answered[0]) if self._answered else float("inf"),
            self._frees[0] if self._frees else float("inf"),
            next(iter(self._in_flight)).start + self.window if self._in_flight else float("inf"),
        )
        return soonest - now if soonest > now else self.window / 100

    def release(self, slot: Slot) -> None:
        """The attempt never reached HubSpot's counter: its slot is free again."""
        self._in_flight.pop(slot, None)

    def settle(
        self, slot: Slot, now: float, info: RateLimitInfo | None, *, refused: bool = False
    ) -> None:
        """The attempt ended and HubSpot may have counted it: hold its slot until it is forgotten.

        ``info``: the answer's rate-limit headers, None if no answer came (a timeout).
        ``refused``: a 429 for the rolling window, which says that window is full.
        """
        if slot not in self._in_flight:
            return
        del self._in_flight[slot]
        if info is None:
            self._hold(now + self.window)
            return
        # The first window's round trips are left out: sent in one burst to a server that had
        # not seen us yet, they queue behind each other, all slower than its usual fastest.
        if self._warm_from is not None and slot.start >= self._warm_from:
            rtt = now - slot.start
            self._fastest = rtt if self._fastest is None else min(self._fastest, rtt)
        self._answered.append((now, slot.start))
        self._adopt(info)
        self._reconcile(slot, info, now, refused=refused)

    def block_until(self, until: float) -> None:
        """No request starts before ``until`` (a Retry-After)."""
        self._blocked_until = max(self._blocked_until, until)

    def _hold(self, until: float) -> None:
        heapq.heappush(self._frees, until)

    def _adopt(self, info: RateLimitInfo) -> None:
        """A lower limit from HubSpot (or as much, over another window) replaces ours.

        Only a plausible one: headers claiming a window longer than a minute or less than one
        request a second (1 per hour, say) would stall the run; HubSpot's smallest budget is
        ten a second. Such headers are ignored.
        """
        if (
            info.max is not None
            and info.interval_s is not None
            and info.interval_s <= MAX_HEADER_WINDOW_S
            and info.max / info.interval_s >= MIN_HEADER_RATE
            and info.max / info.interval_s <= self.limit / self.interval
            and (info.max, info.interval_s) != (self.limit, self.interval)
        ):
            self.limit, self.interval = info.max, info.interval_s

    def _reconcile(self, slot: Slot, info: RateLimitInfo, now: float, *, refused: bool) -> None:
        """Fewer slots left at HubSpot than ours allow: someone else spends them; hold phantoms.

        A 429 says HubSpot's window is full now, whatever its length: all but ours (not the
        refused attempt itself) are someone else's, held for the window it reports. Otherwise
        ours are compared as HubSpot saw them when it counted this attempt: every request of
        ours still held when it started, and any started since.
        """
        if info.remaining is None:
            return
        if refused:
            ours = self.used(now) - 1
            interval = min(info.interval_s or self.interval, MAX_HEADER_WINDOW_S)
        elif info.interval_s in (None, self.interval):
            ours = slot.held + (self._taken - slot.serial - 1)
            interval = self.interval
        else:
            return
        until = now + interval * (1 + self.safety)
        for _ in range(self.limit - ours - info.remaining):
            self._hold(until)
            self._taken += 1


class AsyncPacer:
    """The budget for asyncio workers: ``await acquire()`` before each attempt.

    First attempts queue in FIFO order; a retry goes before all of them (its records have
    waited already, and the run's end waits for them). The waiter at the head sleeps until the
    soonest slot frees, or until an attempt gives its slot back, whichever comes first.
    """

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
        self._turn = asyncio.Lock()
        self._retry_turn = asyncio.Lock()
        self._retries = 0  # retries waiting for a slot
        self._wake = asyncio.Event()  # a slot was given back, or a retry got one
        self._closed = asyncio.Event()

    def close(self) -> None:
        """Stop: every waiter (for a slot, or in a pause) raises :class:`PacerClosed` now."""
        self._closed.set()
        self._wake.set()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    async def pause(
        self, seconds: float, sleep: Callable[[float], Awaitable[None]] | None = None
    ) -> None:
        """Sleep (a backoff, a Retry-After), cut short by :meth:`close`."""
        if self.closed:
            raise PacerClosed
        nap = asyncio.ensure_future((sleep or self._sleep)(seconds))
        closed = asyncio.ensure_future(self._closed.wait())
        try:
            await asyncio.wait((nap, closed), return_when=asyncio.FIRST_COMPLETED)
        finally:
            nap.cancel()
            closed.cancel()
        if self.closed:
            raise PacerClosed

    async def acquire(self, *, retry: bool = False) -> Slot:
        if self.closed:
            raise PacerClosed
        if not retry:
            async with self._turn:
                return await self._take(after_retries=True)
        self._retries += 1
        try:
            async with self._retry_turn:
                return await self._take(after_retries=False)
        finally:
            self._retries -= 1
            self._wake.set()

    async def _take(self, *, after_retries: bool) -> Slot:
        while True:
            if self.closed:
                raise PacerClosed
            if after_retries and self._retries:
                wait = self.budget.window  # woken when the retries have their slots
            elif isinstance(slot := self.budget.reserve(self._clock()), Slot):
                return slot
            else:
                wait = slot
            self._wake.clear()
            sleep = asyncio.ensure_future(self._sleep(wait))
            woken = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait((sleep, woken), return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleep.cancel()
                woken.cancel()

    def settle(self, slot: Slot, info: RateLimitInfo | None, *, refused: bool = False) -> None:
        self.budget.settle(slot, self._clock(), info, refused=refused)

    def release(self, slot: Slot) -> None:
        self.budget.release(slot)
        self._wake.set()

    def block_for(self, seconds: float) -> None:
        self.budget.block_until(self._clock() + seconds)


async def build_pacer(rate: RateLimit, token: Secret, shared_budget: str | None) -> AsyncPacer:
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
