"""The shared request budget, on a fake clock: no window ever holds more than the limit."""

from __future__ import annotations

import asyncio
import bisect

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hubspot_postal_mail.pacing import AsyncPacer, Pacer, RateLimit, RequestBudget
from hubspot_postal_mail.retry_policy import RateLimitInfo

from .conftest import FakeTime


def max_in_any_window(starts: list[float], window: float) -> int:
    """The most starts in any half-open window [t, t + window)."""
    starts = sorted(starts)
    return max(bisect.bisect_left(starts, t + window) - i for i, t in enumerate(starts))


def test_rate_limit_parses_n_per_seconds() -> None:
    assert RateLimit.parse("100/10") == RateLimit(100, 10.0)
    assert RateLimit.parse(" 20 / 1s ") == RateLimit(20, 1.0)
    assert RateLimit.parse("5/0.5").per_second == 10.0
    for bad in ("100", "0/10", "10/0", "x/1", "-1/3"):
        with pytest.raises(ValueError, match="rate limit"):
            RateLimit.parse(bad)


async def test_the_budget_is_held_across_concurrent_workers(fake_time: FakeTime) -> None:
    budget = RequestBudget(RateLimit(10, 1.0), safety=0.0)
    pacer = AsyncPacer(budget, clock=fake_time.clock, sleep=fake_time.sleep)
    starts: list[float] = []

    async def worker() -> None:
        for _ in range(25):
            await pacer.acquire()
            starts.append(fake_time.now)
            await asyncio.sleep(0)  # let the other workers in

    await asyncio.gather(*(worker() for _ in range(8)))
    assert len(starts) == 200
    assert max_in_any_window(starts, 1.0) == 10
    # ...and it is used: 200 requests at 10 per second take 19-20 seconds, not more.
    assert 19.0 <= max(starts) <= 20.0


def test_the_safety_margin_lengthens_the_window() -> None:
    budget = RequestBudget(RateLimit(2, 10.0), safety=0.02)
    assert budget.reserve(0.0) == 0.0
    assert budget.reserve(1.0) == 0.0
    assert budget.reserve(2.0) == pytest.approx(8.2)
    assert budget.reserve(10.2) == 0.0


@settings(max_examples=50, deadline=None)
@given(
    limit=st.integers(1, 20),
    seconds=st.sampled_from([0.5, 1.0, 10.0]),
    gaps=st.lists(st.floats(0, 0.3), min_size=1, max_size=120),
)
def test_no_window_ever_holds_more_than_the_limit(
    limit: int, seconds: float, gaps: list[float]
) -> None:
    time = FakeTime()
    pacer = Pacer(RequestBudget(RateLimit(limit, seconds)), clock=time.clock, sleep=time.sync_sleep)
    starts = []
    for gap in gaps:
        time.now += gap
        pacer.acquire()
        starts.append(time.now)
    assert max_in_any_window(starts, seconds) <= limit


def test_a_lower_max_from_hubspot_replaces_the_configured_rate() -> None:
    budget = RequestBudget(RateLimit(190, 10.0))
    budget.observe(RateLimitInfo(max=100, interval_s=10.0), now=0.0)
    assert (budget.limit, budget.interval) == (100, 10.0)


def test_a_higher_max_from_hubspot_never_loosens_the_budget() -> None:
    budget = RequestBudget(RateLimit(100, 10.0))
    budget.observe(RateLimitInfo(max=250, remaining=249, interval_s=10.0), now=0.0)
    assert (budget.limit, budget.interval) == (100, 10.0)
    assert budget.used(0.0) == 0


def test_remaining_below_our_own_count_is_spent_by_someone_else() -> None:
    budget = RequestBudget(RateLimit(10, 1.0), safety=0.0)
    for _ in range(3):
        assert budget.reserve(0.0) == 0.0
    # HubSpot says 2 left of 10: 8 used, 3 of them ours.
    budget.observe(RateLimitInfo(max=10, remaining=2, interval_s=1.0), now=0.1)
    assert budget.used(0.1) == 8
    assert budget.reserve(0.1) == 0.0
    assert budget.reserve(0.1) == 0.0
    assert budget.reserve(0.1) == pytest.approx(0.9)  # full until the first starts expire


def test_remaining_never_frees_slots_we_used() -> None:
    budget = RequestBudget(RateLimit(10, 1.0), safety=0.0)
    for _ in range(5):
        budget.reserve(0.0)
    # An answer made before our last requests arrived: HubSpot had counted only 2 of them.
    budget.observe(RateLimitInfo(max=10, remaining=8, interval_s=1.0), now=0.0)
    assert budget.used(0.0) == 5


def test_a_429s_zero_remaining_fills_the_window() -> None:
    budget = RequestBudget(RateLimit(10, 1.0), safety=0.0)
    budget.reserve(0.0)
    budget.observe(RateLimitInfo(max=10, remaining=0, interval_s=1.0), now=0.5)
    assert budget.reserve(0.5) == pytest.approx(0.5)  # our own start expires first
    budget.reserve(1.0)
    assert budget.reserve(1.0) == pytest.approx(0.5)  # then the phantoms, at 1.5


def test_block_until_holds_every_request() -> None:
    budget = RequestBudget(RateLimit(10, 1.0))
    budget.block_until(3.0)
    assert budget.reserve(1.0) == pytest.approx(2.0)
    assert budget.reserve(3.0) == 0.0
