"""Counters the transport and the bulk engine share, for the summary and a progress bar."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class RequestStats:
    """Every HTTP attempt, every retry and every 429, as they happen.

    ``listener`` (if set) is called after each change, so a progress bar can show retries and
    429s while a slow batch is still being retried.
    """

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    listener: Callable[[], None] | None = field(default=None, repr=False, compare=False)

    def _changed(self) -> None:
        if self.listener is not None:
            self.listener()

    def count_request(self) -> None:
        self.requests += 1
        self._changed()

    def count_retry(self) -> None:
        self.retries += 1
        self._changed()

    def count_rate_limited(self) -> None:
        self.rate_limited += 1
        self._changed()
