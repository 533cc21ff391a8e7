"""The pacing section: resilience_run driven with our scenarios, and the figures derived."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.pacing import Scenario, derive, run


def _figures(elapsed_s: float, stale: int = 0) -> dict[str, Any]:
    summary = {"elapsed_s": elapsed_s, "requests": 310, "retries": 10, "rate_limited": 7}
    return {"summary": summary, "records_failed": 0, "ids_stale": stale, "records_lost": 0}


def test_efficiency_is_ideal_time_over_elapsed() -> None:
    scenario = Scenario("s", records=30_000, rate=20, latency_s=0.05, concurrency=10)
    # 300 requests at 20 per second: 14 s of windows, then 2 rounds of 50 ms answers.
    ideal = derive(scenario, _figures(14.1))
    assert ideal.efficiency == pytest.approx(1.0)
    assert ideal.records_per_s == pytest.approx(30_000 / 14.1)
    assert ideal.of_ceiling == pytest.approx(30_000 / 14.1 / 2000)
    slow = derive(scenario, _figures(28.2, stale=3))
    assert slow.efficiency == pytest.approx(0.5)
    assert (slow.rate_limited, slow.lost) == (7, 3)


def test_a_small_run_through_resilience_run_writes_every_record() -> None:
    result = run(Scenario("small", records=300, rate=50, latency_s=0.0))
    assert (result.lost, result.failed, result.unreported) == (0, 0, 0)
    assert result.requests >= 3
    assert result.elapsed_s > 0
