"""The arithmetic behind the benchmark tables."""

from __future__ import annotations

import pytest

from benchmarks.stats import (
    ceiling_fraction,
    growth,
    ideal_seconds,
    pacing_efficiency,
    ratio,
    summarise,
)


def test_summary_is_the_median_with_its_range() -> None:
    summary = summarise([3.0, 1.0, 2.0, 10.0])
    assert (summary.median, summary.low, summary.high, summary.runs) == (2.5, 1.0, 10.0, 4)
    assert summary.spread == pytest.approx(9.0 / 2 / 2.5)


def test_summary_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="no samples"):
        summarise([])


def test_ratio_is_to_the_floor() -> None:
    assert ratio(6.6, 3.3) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="positive"):
        ratio(1.0, 0.0)


def test_ideal_time_counts_whole_windows_after_the_first() -> None:
    # 300 requests at 20 per second: 15 windows, the last starting 14 s in.
    assert ideal_seconds(300, 20, 1.0) == pytest.approx(14.0)
    # One more request needs a whole extra window.
    assert ideal_seconds(301, 20, 1.0) == pytest.approx(15.0)
    # The last window's 20 requests, 10 at a time, 0.1 s each: two rounds.
    assert ideal_seconds(300, 20, 1.0, latency_s=0.1, concurrency=10) == pytest.approx(14.2)
    assert ideal_seconds(5, 20, 1.0, latency_s=0.1, concurrency=10) == pytest.approx(0.1)


def test_efficiency_is_one_for_the_ideal_run_and_halves_at_twice_the_time() -> None:
    def efficiency(records: int, elapsed_s: float) -> float:
        return pacing_efficiency(records, elapsed_s, batch_size=100, limit=20, window_s=1.0)

    assert efficiency(30_000, 14.0) == pytest.approx(1.0)
    assert efficiency(30_000, 28.0) == pytest.approx(0.5)
    # Records round up to whole batches: 29,901 records are still 300 requests.
    assert efficiency(29_901, 14.0) == pytest.approx(1.0)


def test_ceiling_fraction_is_records_per_second_over_the_budget() -> None:
    assert ceiling_fraction(30_000, 15.0, ceiling_per_s=2000.0) == pytest.approx(1.0)
    assert ceiling_fraction(30_000, 30.0, ceiling_per_s=2000.0) == pytest.approx(0.5)


def test_growth_is_largest_over_smallest() -> None:
    assert growth([47.0, 47.5, 94.0]) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="positive"):
        growth([0.0, 1.0])
