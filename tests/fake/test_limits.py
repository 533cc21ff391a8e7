"""Rate limits as HubSpot applies them: a rolling window per token (TEN_SECONDLY_ROLLING), a
daily budget per account (DAILY), X-HubSpot-RateLimit-* headers and 429 bodies."""

from __future__ import annotations

from collections.abc import Callable

from tests.fake.conftest import Harness, ManualClock, inputs

OTHER = {"Authorization": "Bearer pat-na1-another-app"}


async def test_answers_carry_the_rate_limit_headers(fake: Harness) -> None:
    first = await fake.upsert(inputs("a"))
    second = await fake.upsert({"inputs": "not a list"})  # errors count too
    assert first.headers["X-HubSpot-RateLimit-Max"] == "100"
    assert first.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert first.headers["X-HubSpot-RateLimit-Remaining"] == "99"
    assert second.headers["X-HubSpot-RateLimit-Remaining"] == "98"
    assert first.headers["X-HubSpot-RateLimit-Daily"] == "250000"
    assert second.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "249998"


async def test_over_the_window_limit_is_429_ten_secondly_rolling(
    make_fake: Callable[..., Harness],
) -> None:
    fake = make_fake(rate_limit=(3, 1.0))
    statuses = [(await fake.upsert(inputs(f"r{n}"))).status_code for n in range(3)]
    refused = await fake.upsert(inputs("r3"))
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    body = refused.json()
    assert body["errorType"] == "RATE_LIMIT"
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["category"] == "RATE_LIMITS"
    assert refused.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert "Retry-After" not in refused.headers
    assert fake.app.find("external_id", "r3") is None


async def test_the_window_rolls(make_fake: Callable[..., Harness], clock: ManualClock) -> None:
    fake = make_fake(rate_limit=(2, 10.0))
    await fake.upsert(inputs("a"))
    clock.advance(6)
    await fake.upsert(inputs("b"))
    assert (await fake.upsert(inputs("c"))).status_code == 429
    clock.advance(4)  # the first call is now 10 s old and leaves the window; the second stays
    allowed = await fake.upsert(inputs("c"))
    assert allowed.status_code == 200
    assert allowed.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert (await fake.upsert(inputs("d"))).status_code == 429


async def test_refused_calls_do_not_use_up_the_window(
    make_fake: Callable[..., Harness], clock: ManualClock
) -> None:
    fake = make_fake(rate_limit=(1, 1.0))
    await fake.upsert(inputs("a"))
    for _ in range(5):
        assert (await fake.upsert(inputs("b"))).status_code == 429
    clock.advance(1)
    assert (await fake.upsert(inputs("b"))).status_code == 200


async def test_each_token_has_its_own_window(make_fake: Callable[..., Harness]) -> None:
    fake = make_fake(rate_limit=(1, 10.0))
    assert (await fake.upsert(inputs("a"))).status_code == 200
    assert (await fake.upsert(inputs("b"))).status_code == 429
    assert (await fake.upsert(inputs("b"), headers=OTHER)).status_code == 200


async def test_the_daily_budget_is_per_account_and_answers_daily(
    make_fake: Callable[..., Harness], clock: ManualClock
) -> None:
    fake = make_fake(daily_limit=2)
    await fake.upsert(inputs("a"))
    last = await fake.upsert(inputs("b"), headers=OTHER)
    assert last.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
    clock.advance(60)  # the rolling window is clear; the day is not over
    for headers in (None, OTHER):
        refused = await fake.upsert(inputs("c"), headers=headers)
        assert refused.status_code == 429
        assert refused.json()["policyName"] == "DAILY"


async def test_the_daily_budget_resets_at_midnight_utc(
    make_fake: Callable[..., Harness], clock: ManualClock
) -> None:
    fake = make_fake(daily_limit=1)
    await fake.upsert(inputs("a"))
    assert (await fake.upsert(inputs("b"))).status_code == 429
    clock.advance(12 * 3600)  # the clock starts at noon
    assert (await fake.upsert(inputs("b"))).status_code == 200


async def test_no_daily_limit_sends_no_daily_headers(make_fake: Callable[..., Harness]) -> None:
    response = await make_fake(daily_limit=None).upsert(inputs("a"))
    assert "X-HubSpot-RateLimit-Daily" not in response.headers
    assert "X-HubSpot-RateLimit-Max" in response.headers


async def test_retry_after_is_sent_on_429_when_configured(
    make_fake: Callable[..., Harness],
) -> None:
    fake = make_fake(rate_limit=(1, 10.0), retry_after=3)
    await fake.upsert(inputs("a"))
    assert (await fake.upsert(inputs("b"))).headers["Retry-After"] == "3"


async def test_a_daily_429_never_carries_the_short_retry_after(
    make_fake: Callable[..., Harness], clock: ManualClock
) -> None:
    fake = make_fake(daily_limit=1, retry_after=3)
    await fake.upsert(inputs("a"))
    clock.advance(60)  # the clock starts at noon: 11 h 59 min to midnight UTC
    refused = await fake.upsert(inputs("b"))
    assert refused.json()["policyName"] == "DAILY"
    assert refused.headers["Retry-After"] == str(11 * 3600 + 59 * 60)


async def test_a_daily_429_has_no_retry_after_when_none_is_configured(
    make_fake: Callable[..., Harness],
) -> None:
    fake = make_fake(daily_limit=1)
    await fake.upsert(inputs("a"))
    assert "Retry-After" not in (await fake.upsert(inputs("b"))).headers


async def test_oauth_answers_carry_no_daily_headers_yet_the_daily_limit_holds(
    make_fake: Callable[..., Harness],
) -> None:
    fake = make_fake(auth_mode="oauth", daily_limit=1)
    allowed = await fake.upsert(inputs("a"))
    refused = await fake.upsert(inputs("b"))
    for response in (allowed, refused):
        assert "X-HubSpot-RateLimit-Daily" not in response.headers
        assert "X-HubSpot-RateLimit-Daily-Remaining" not in response.headers
        assert response.headers["X-HubSpot-RateLimit-Max"] == "100"
    assert refused.json()["policyName"] == "DAILY"


async def test_hubspot_error_bodies_leave_category_out_of_a_429(
    make_fake: Callable[..., Harness],
) -> None:
    fake = make_fake(off_pin=True, error_bodies="hubspot", rate_limit=(1, 10.0))
    await fake.upsert(inputs("a"))
    body = (await fake.upsert(inputs("b"))).json()
    assert "category" not in body
    assert body["status"] == "error"
    assert body["errorType"] == "RATE_LIMIT"
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["correlationId"]
