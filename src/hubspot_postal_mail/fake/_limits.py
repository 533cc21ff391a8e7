"""HubSpot's two rate-limit policies: a rolling window per app, and a daily budget per account.

Own code rather than a rate-limiting library: the fake must report exactly what HubSpot's
headers report (remaining calls in a rolling window of any length, sub-second for tests) and
run on an injectable clock so tests can move time instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

TEN_SECONDLY_ROLLING = "TEN_SECONDLY_ROLLING"
DAILY = "DAILY"


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a call may go ahead; ``policy`` names the limit that refused it."""

    allowed: bool
    headers: dict[str, str]
    policy: str | None = None


class RateLimiter:
    """Counts accepted calls; refused calls do not use up the budget."""

    def __init__(
        self,
        per_window: int,
        window_seconds: float,
        daily_limit: int | None,
        *,
        daily_headers: bool = True,
        clock: Callable[[], float] = time.monotonic,
        today: Callable[[], date] = lambda: datetime.now(UTC).date(),
    ) -> None:
        self._max = per_window
        self._window = window_seconds
        self._daily_limit = daily_limit
        self._daily_headers = daily_headers
        self._clock = clock
        self._today = today
        self._lock = threading.Lock()
        self._windows: dict[str, deque[float]] = {}
        self._day: date | None = None
        self._daily_used = 0

    def acquire(self, key: str) -> Decision:
        """Count one call by ``key`` if both policies allow it."""
        with self._lock:
            now = self._clock()
            window = self._windows.setdefault(key, deque())
            while window and window[0] <= now - self._window:
                window.popleft()
            today = self._today()
            if today != self._day:
                self._day, self._daily_used = today, 0
            if self._daily_limit is not None and self._daily_used >= self._daily_limit:
                return Decision(False, self._headers(len(window)), DAILY)
            if len(window) >= self._max:
                return Decision(False, self._headers(len(window)), TEN_SECONDLY_ROLLING)
            window.append(now)
            self._daily_used += 1
            return Decision(True, self._headers(len(window)))

    def _headers(self, used: int) -> dict[str, str]:
        headers = {
            "X-HubSpot-RateLimit-Max": str(self._max),
            "X-HubSpot-RateLimit-Remaining": str(max(self._max - used, 0)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(round(self._window * 1000)),
        }
        # HubSpot sends the daily headers to private apps only, not to OAuth apps.
        if self._daily_limit is not None and self._daily_headers:
            headers["X-HubSpot-RateLimit-Daily"] = str(self._daily_limit)
            remaining = max(self._daily_limit - self._daily_used, 0)
            headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(remaining)
        return headers

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
            self._day, self._daily_used = None, 0
