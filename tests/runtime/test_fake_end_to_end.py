"""End to end against the project's fake HubSpot (real HTTP on 127.0.0.1, rate limits, faults)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hubspot_postal_mail import Outcome, RecordResult, RetryPolicy, upsert_all
from hubspot_postal_mail.fake._server import RunningFake

FAST = RetryPolicy(initial_wait=0.01, max_wait=0.05)
Factory = Callable[..., RunningFake]


def body_of(fake: RunningFake, key: str) -> str | None:
    record = fake.app.find("external_id", key)
    return None if record is None else record.properties.get("hs_postal_mail_body")


@pytest.mark.parametrize("partial_status", [207, 200])
def test_faults_limits_and_repeats_end_with_every_last_value_written(
    hubspot_fake_factory: Factory, partial_status: int
) -> None:
    fake = hubspot_fake_factory(
        fault_rate=0.05,
        drop_rate=0.05,
        seed=11,
        rate_limit=(40, 0.5),
        partial_status=partial_status,
    )
    data: list[dict[str, Any]] = []
    for i in range(3000):
        row: dict[str, Any] = {"external_id": f"M{i % 900}", "hs_postal_mail_body": f"v{i}"}
        if i % 500 == 3:
            row["no_such_property"] = "x"  # HubSpot rejects it: this one record fails
        data.append(row)
    results: list[RecordResult] = []
    report = upsert_all(
        data,
        id_property="external_id",
        token=fake.token,
        base_url=fake.base_url,
        rate_limit="45/0.5",  # a little over the fake's limit: its headers pull us down
        retry_policy=FAST,
        concurrency=6,
        report=results.append,
    )
    failed = {r.line - 1 for r in results if r.outcome is Outcome.FAILED}
    assert failed == {i for i in range(3000) if i % 500 == 3}
    assert report.retries > 0
    assert report.total == 3000
    last: dict[str, str] = {}
    for i, row in enumerate(data):
        if i not in failed:
            last[row["external_id"]] = row["hs_postal_mail_body"]
    for key, value in last.items():
        assert body_of(fake, key) == value
    calls = fake.app.calls()
    assert len(calls) == report.requests


def test_a_daily_limit_stops_the_run(hubspot_fake_factory: Factory) -> None:
    fake = hubspot_fake_factory(daily_limit=2)
    report = upsert_all(
        [{"external_id": f"D{i}"} for i in range(500)],
        id_property="external_id",
        token=fake.token,
        base_url=fake.base_url,
        concurrency=1,
        retry_policy=FAST,
    )
    assert report.created == 200
    assert report.stopped is not None
    assert "DAILY" in report.stopped or "daily" in report.stopped
    assert report.requests == 3


def test_a_wrong_token_stops_the_run(hubspot_fake_factory: Factory) -> None:
    fake = hubspot_fake_factory(tokens={"pat-na1-right": None})
    report = upsert_all(
        [{"external_id": "A"}],
        id_property="external_id",
        token="pat-na1-wrong",
        base_url=fake.base_url,
    )
    assert report.exit_status == 3
    assert report.stopped is not None
    assert "401" in report.stopped
    assert fake.app.records() == []
