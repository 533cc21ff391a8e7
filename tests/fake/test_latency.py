"""The latency model: each admitted upsert takes median * exp(sigma * N(0, 1)) seconds, seeded,
clamped, awaited so other requests go on; refusals and injected faults come before it."""

from __future__ import annotations

import asyncio
import math
import statistics
from collections.abc import Callable

import pytest

from hubspot_postal_mail.fake import ConfigError, FakeConfig
from hubspot_postal_mail.fake._faults import Latency
from tests.fake.conftest import Harness, inputs


@pytest.fixture
def delays(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every delay the fake asks asyncio for, in order; the sleeps themselves are skipped."""
    seen: list[float] = []
    real_sleep = asyncio.sleep

    async def recording_sleep(seconds: float) -> None:
        seen.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", recording_sleep)
    return seen


def _draws(count: int, **options: float | int | None) -> list[float]:
    latency = Latency(FakeConfig(**options))  # type: ignore[arg-type]
    return [latency.next() for _ in range(count)]


def test_delays_are_log_normal_around_the_median_with_the_given_spread() -> None:
    draws = _draws(4000, latency_median_s=1.0, latency_sigma=0.5, seed=1)
    assert statistics.median(draws) == pytest.approx(1.0, rel=0.05)
    assert statistics.stdev(math.log(d) for d in draws) == pytest.approx(0.5, rel=0.05)
    assert max(draws) > 3.0  # a long tail of slow answers


def test_delays_follow_the_seed() -> None:
    options = {"latency_median_s": 0.5, "latency_sigma": 0.8}
    assert _draws(20, seed=4, **options) == _draws(20, seed=4, **options)
    assert _draws(20, seed=4, **options) != _draws(20, seed=5, **options)


def test_delays_are_clamped_to_the_maximum() -> None:
    draws = _draws(500, latency_median_s=1.0, latency_sigma=1.0, latency_max_s=2.5, seed=2)
    assert max(draws) == 2.5
    assert min(draws) < 1.0


def test_latency_seconds_is_the_median_with_no_spread() -> None:
    assert _draws(3, latency_seconds=0.25, seed=1) == [0.25, 0.25, 0.25]
    assert _draws(3, latency_seconds=0.25, latency_sigma=0.5, seed=1) != [0.25, 0.25, 0.25]


@pytest.mark.parametrize(
    "options",
    [
        {"latency_median_s": -1.0},
        {"latency_sigma": -0.1},
        {"latency_max_s": float("inf")},
        {"latency_median_s": 1.0, "latency_seconds": 2.0},
    ],
)
def test_impossible_latency_settings_are_config_errors(options: dict[str, float]) -> None:
    with pytest.raises(ConfigError, match="latency"):
        FakeConfig(**options)  # type: ignore[arg-type]


async def test_only_admitted_upserts_take_time(
    make_fake: Callable[..., Harness], delays: list[float]
) -> None:
    fake = make_fake(rate_limit=(1, 10.0), latency_median_s=0.4, latency_sigma=0.3, seed=3)
    admitted = await fake.upsert(inputs("a"))
    limited = await fake.upsert(inputs("b"))
    unauthenticated = await fake.upsert(inputs("c"), headers={})
    assert [admitted.status_code, limited.status_code, unauthenticated.status_code] == [
        200,
        429,
        401,
    ]
    assert delays == _draws(1, latency_median_s=0.4, latency_sigma=0.3, seed=3)


async def test_injected_faults_answer_before_the_latency(
    make_fake: Callable[..., Harness], delays: list[float]
) -> None:
    fake = make_fake(fault_rate=1.0, latency_median_s=0.4)
    assert (await fake.upsert(inputs("a"))).status_code >= 500
    assert delays == []


async def test_latency_leaves_the_fault_sequence_as_the_seed_made_it(
    make_fake: Callable[..., Harness], delays: list[float]
) -> None:
    runs = []
    for options in ({}, {"latency_median_s": 0.2, "latency_sigma": 1.0}):
        fake = make_fake(fault_rate=0.5, seed=7, **options)
        runs.append([(await fake.upsert(inputs(f"r{n}"))).status_code for n in range(30)])
    assert runs[0] == runs[1]


async def test_reset_restarts_the_latency_sequence(
    make_fake: Callable[..., Harness], delays: list[float]
) -> None:
    fake = make_fake(latency_median_s=0.2, latency_sigma=1.0, seed=9)
    for n in range(5):
        await fake.upsert(inputs(f"r{n}"))
    first = list(delays)
    fake.app.reset()
    for n in range(5):
        await fake.upsert(inputs(f"r{n}"))
    assert delays[5:] == first


async def test_a_slow_upsert_does_not_hold_up_other_requests(
    make_fake: Callable[..., Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    release = asyncio.Event()
    sleeping = asyncio.Event()

    async def held_sleep(seconds: float) -> None:
        sleeping.set()
        await release.wait()

    monkeypatch.setattr(asyncio, "sleep", held_sleep)
    fake = make_fake(rate_limit=(1, 10.0), latency_median_s=30.0)
    slow = asyncio.create_task(fake.upsert(inputs("a")))
    await asyncio.wait_for(sleeping.wait(), 5)
    # The first upsert is still taking its time: the next request is answered meanwhile.
    assert (await asyncio.wait_for(fake.upsert(inputs("b")), 5)).status_code == 429
    assert not slow.done()
    assert fake.app.records() == []  # the write comes after the time taken
    release.set()
    assert (await asyncio.wait_for(slow, 5)).status_code == 200
    assert fake.app.find("external_id", "a") is not None
