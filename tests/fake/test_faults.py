"""Seeded fault injection in-process: 5xx answers, latency, dropped connections."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import httpx
import pytest

from hubspot_postal_mail.fake import ConnectionDropped
from hubspot_postal_mail.fake._faults import SERVER_ERROR_STATUSES
from tests.fake.conftest import Harness, inputs


async def test_fault_rate_one_answers_every_request_with_a_5xx_error_body(
    make_fake: Callable[..., Harness],
) -> None:
    fake = make_fake(fault_rate=1.0, seed=3)
    responses = [await fake.upsert(inputs(f"r{n}")) for n in range(20)]
    assert {r.status_code for r in responses} <= set(SERVER_ERROR_STATUSES)
    assert len({r.status_code for r in responses}) > 1
    assert all(r.json()["status"] == "error" for r in responses)
    assert all("Retry-After" not in r.headers for r in responses)
    assert fake.app.records() == []


async def test_faults_follow_the_seed(make_fake: Callable[..., Harness]) -> None:
    runs = []
    for _ in range(2):
        fake = make_fake(fault_rate=0.5, seed=7)
        runs.append([(await fake.upsert(inputs(f"r{n}"))).status_code for n in range(30)])
    assert runs[0] == runs[1]
    assert 200 in runs[0]
    assert set(runs[0]) - {200}
    other = make_fake(fault_rate=0.5, seed=8)
    assert [(await other.upsert(inputs(f"r{n}"))).status_code for n in range(30)] != runs[0]


async def test_reset_restarts_the_fault_sequence(make_fake: Callable[..., Harness]) -> None:
    fake = make_fake(fault_rate=0.5, seed=11)
    first = [(await fake.upsert(inputs(f"r{n}"))).status_code for n in range(10)]
    fake.app.reset()
    assert [(await fake.upsert(inputs(f"r{n}"))).status_code for n in range(10)] == first


async def test_injected_errors_carry_retry_after_when_configured(
    make_fake: Callable[..., Harness],
) -> None:
    response = await make_fake(fault_rate=1.0, retry_after=2).upsert(inputs("a"))
    assert response.headers["Retry-After"] == "2"


async def test_a_dropped_connection_raises_what_httpx_raises_for_one(
    make_fake: Callable[..., Harness],
) -> None:
    fake = make_fake(drop_rate=1.0)
    with pytest.raises(httpx.RemoteProtocolError) as raised:
        await fake.upsert(inputs("a"))
    assert isinstance(raised.value, ConnectionDropped)
    assert fake.app.records() == []
    assert [c.status for c in fake.app.calls()] == [None]


async def test_a_drop_after_write_loses_only_the_answer(
    make_fake: Callable[..., Harness],
) -> None:
    fake = make_fake(drop_rate=1.0, drop_after_write=True)
    with pytest.raises(httpx.RemoteProtocolError):
        await fake.upsert(inputs("a", hs_postal_mail_body="sent once"))
    record = fake.app.find("external_id", "a")
    assert record is not None
    assert record.properties["hs_postal_mail_body"] == "sent once"


async def test_latency_delays_each_upsert(
    make_fake: Callable[..., Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    delays: list[float] = []
    real_sleep = asyncio.sleep

    async def recording_sleep(seconds: float) -> None:
        delays.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", recording_sleep)
    fake = make_fake(latency_seconds=0.25)
    await fake.upsert(inputs("a"))
    await fake.client.get("/_fake/records")  # control routes are not delayed
    assert delays == [0.25]


async def test_the_calls_log_records_each_status(make_fake: Callable[..., Harness]) -> None:
    fake = make_fake(rate_limit=(1, 10.0))
    await fake.upsert(inputs("a"))
    await fake.upsert(inputs("b"))
    await fake.upsert(inputs("c"), headers={})
    assert [c.status for c in fake.app.calls()] == [200, 429, 401]


async def test_an_html_fault_is_a_proxys_502_page(make_fake: Callable[..., Harness]) -> None:
    fake = make_fake(off_pin=True, html_fault_rate=1.0, retry_after=2)
    response = await fake.upsert(inputs("a"))
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert "<title>502 Bad Gateway</title>" in response.text
    assert not any(name.lower().startswith("x-hubspot") for name in response.headers)
    assert "Retry-After" not in response.headers
    assert fake.app.records() == []
    assert [c.status for c in fake.app.calls()] == [502]


async def test_html_faults_follow_the_seed_and_leave_the_other_faults_in_place(
    make_fake: Callable[..., Harness],
) -> None:
    runs = []
    for html_fault_rate in (0.0, 0.3, 0.3):
        fake = make_fake(off_pin=True, fault_rate=0.3, html_fault_rate=html_fault_rate, seed=5)
        runs.append([(await fake.upsert(inputs(f"r{n}"))).status_code for n in range(40)])
    plain, html, again = runs
    assert html == again
    assert html.count(502) > plain.count(502)
    # Every request the 5xx faults hit without HTML faults is hit the same way with them,
    # and those are the requests the seed hit before HTML faults existed (3 draws a request).
    assert all(h == p for p, h in zip(plain, html, strict=True) if p != 200)
    draws = random.Random(5)  # noqa: S311 - the fake's own sequence
    hit = [[draws.random() for _ in range(3)][1] < 0.3 for _ in range(40)]
    assert [status != 200 for status in plain] == hit
