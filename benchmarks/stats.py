"""The arithmetic behind every table: medians, spreads, ratios and the pacing ceiling.

Kept apart from the measuring code so that it can be tested quickly and exactly.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Summary:
    """A median with the spread around it, in the unit of the samples."""

    median: float
    low: float  # the smallest sample
    high: float  # the largest sample
    runs: int

    @property
    def spread(self) -> float:
        """Half the range, relative to the median: how much the runs disagree."""
        if self.median == 0:
            return 0.0
        return (self.high - self.low) / 2 / self.median


def summarise(samples: Sequence[float]) -> Summary:
    """Median, minimum and maximum of one or more samples."""
    if not samples:
        raise ValueError("no samples to summarise")
    return Summary(statistics.median(samples), min(samples), max(samples), len(samples))


def ratio(value: float, floor: float) -> float:
    """How many times ``floor`` ``value`` is (the floor is 1.0)."""
    if floor <= 0:
        raise ValueError("the floor must be positive")
    return value / floor


def ideal_seconds(
    requests: int, limit: int, window_s: float, *, latency_s: float = 0.0, concurrency: int = 1
) -> float:
    """The least time ``requests`` can take under ``limit`` starts per rolling ``window_s``.

    A rolling window lets ``limit`` requests start at once, the next ``limit`` one window later,
    and so on; the run ends when the last window's requests have been answered, ``concurrency``
    at a time, each taking ``latency_s``.
    """
    if requests < 1 or limit < 1 or concurrency < 1 or window_s <= 0:
        raise ValueError("need at least one request, limit and concurrency, a positive window")
    windows = math.ceil(requests / limit)
    last = requests - (windows - 1) * limit
    return (windows - 1) * window_s + math.ceil(last / concurrency) * latency_s


def pacing_efficiency(
    records: int,
    elapsed_s: float,
    *,
    batch_size: int,
    limit: int,
    window_s: float,
    latency_s: float = 0.0,
    concurrency: int = 1,
) -> float:
    """The fraction of the budget's ceiling a run reached: ideal time over the time it took.

    1.0 means no client could have moved ``records`` through that budget any sooner.
    """
    if elapsed_s <= 0:
        raise ValueError("elapsed time must be positive")
    requests = math.ceil(records / batch_size)
    ideal = ideal_seconds(requests, limit, window_s, latency_s=latency_s, concurrency=concurrency)
    return ideal / elapsed_s


def ceiling_fraction(records: int, elapsed_s: float, *, ceiling_per_s: float) -> float:
    """Records per second over the budget's ceiling (full batches at the full rate).

    Above the true efficiency on short runs: the first window's burst comes free.
    """
    if elapsed_s <= 0 or ceiling_per_s <= 0:
        raise ValueError("elapsed time and ceiling must be positive")
    return records / elapsed_s / ceiling_per_s


def growth(values: Sequence[float]) -> float:
    """The largest value over the smallest: 1.0 is flat."""
    if not values or min(values) <= 0:
        raise ValueError("need positive values")
    return max(values) / min(values)
