"""The resilient transport, one retry rule per test, through the generated client and respx."""

from __future__ import annotations

import random  # seeded jitter in tests, not secrets
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
import respx
from hubspot_postal_mail_client.api.batch import batch_upsert
from hubspot_postal_mail_client.models import (
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchResponseSimplePublicUpsertObject,
    Error,
)

from hubspot_postal_mail import RateLimit, UpsertReport
from hubspot_postal_mail._client import client_with_transport
from hubspot_postal_mail._config import Secret
from hubspot_postal_mail._pacing import AsyncPacer, RequestBudget, Slot
from hubspot_postal_mail._retry_policy import RetryPolicy
from hubspot_postal_mail._transport import AsyncResilientTransport

from .conftest import BASE_URL, TOKEN, UPSERT_URL, FakeTime, RecordingSleep

BODY = BatchInputSimplePublicObjectBatchInputUpsert.from_dict(
    {"inputs": [{"id": "A-1", "idProperty": "external_id", "properties": {"x": "1"}}]}
)
OK = {
    "status": "COMPLETE",
    "startedAt": "2026-01-01T00:00:00Z",
    "completedAt": "2026-01-01T00:00:01Z",
    "results": [
        {
            "id": "901",
            "new": True,
            "archived": False,
            "createdAt": "2026-01-01T00:00:00Z",
            "updatedAt": "2026-01-01T00:00:00Z",
            "properties": {"external_id": "A-1"},
        }
    ],
}


def too_many(policy: str, **headers: str) -> httpx.Response:
    body = {"status": "error", "errorType": "RATE_LIMIT", "message": "slow down"}
    return httpx.Response(429, json={**body, "policyName": policy}, headers=headers)


def error(status: int, category: str = "VALIDATION_ERROR") -> httpx.Response:
    return httpx.Response(status, json={"status": "error", "message": "no", "category": category})


async def send(
    sleeps: RecordingSleep,
    *,
    policy: RetryPolicy | None = None,
    stats: UpsertReport | None = None,
    pacer: AsyncPacer | None = None,
) -> Any:
    transport = AsyncResilientTransport(
        policy=policy or RetryPolicy(),
        stats=stats,
        pacer=pacer,
        sleep=sleeps,
        rng=random.Random(1),  # noqa: S311,
    )
    async with client_with_transport(Secret(TOKEN), BASE_URL, transport) as client:
        return await batch_upsert.asyncio_detailed(client=client, body=BODY)


@respx.mock
async def test_a_post_429_ten_secondly_is_retried(sleeps: RecordingSleep) -> None:
    route = respx.post(UPSERT_URL).mock(
        side_effect=[too_many("TEN_SECONDLY_ROLLING"), httpx.Response(200, json=OK)]
    )
    stats = UpsertReport()
    response = await send(sleeps, stats=stats)
    assert response.status_code == 200
    assert isinstance(response.parsed, BatchResponseSimplePublicUpsertObject)
    assert route.call_count == 2
    assert all(call.request.method == "POST" for call in route.calls)
    assert (stats.requests, stats.retries, stats.rate_limited) == (2, 1, 1)


@respx.mock
async def test_a_429_without_a_policy_name_is_taken_as_the_rolling_limit(
    sleeps: RecordingSleep,
) -> None:
    route = respx.post(UPSERT_URL).mock(
        side_effect=[httpx.Response(429, text="<html>busy</html>"), httpx.Response(200, json=OK)]
    )
    assert (await send(sleeps)).status_code == 200
    assert route.call_count == 2


@respx.mock
async def test_a_daily_429_is_not_retried(sleeps: RecordingSleep) -> None:
    route = respx.post(UPSERT_URL).mock(return_value=too_many("DAILY"))
    stats = UpsertReport()
    response = await send(sleeps, stats=stats)
    assert response.status_code == 429
    assert route.call_count == 1
    assert sleeps.calls == []
    assert (stats.retries, stats.rate_limited) == (0, 1)


@respx.mock
async def test_a_429_with_the_daily_budget_at_zero_is_not_retried(sleeps: RecordingSleep) -> None:
    route = respx.post(UPSERT_URL).mock(
        return_value=httpx.Response(429, headers={"X-HubSpot-RateLimit-Daily-Remaining": "0"})
    )
    assert (await send(sleeps)).status_code == 429
    assert route.call_count == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
@respx.mock
async def test_5xx_is_retried(sleeps: RecordingSleep, status: int) -> None:
    route = respx.post(UPSERT_URL).mock(
        side_effect=[error(status, "INTERNAL_ERROR"), httpx.Response(200, json=OK)]
    )
    assert (await send(sleeps)).status_code == 200
    assert route.call_count == 2


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError("refused"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("connection reset"),
    ],
)
@respx.mock
async def test_connection_error_is_retried(sleeps: RecordingSleep, exc: Exception) -> None:
    route = respx.post(UPSERT_URL).mock(side_effect=[exc, httpx.Response(200, json=OK)])
    assert (await send(sleeps)).status_code == 200
    assert route.call_count == 2


@pytest.mark.parametrize("exc", [httpx.ReadTimeout("slow"), httpx.ConnectTimeout("slow")])
@respx.mock
async def test_timeout_is_retried(sleeps: RecordingSleep, exc: Exception) -> None:
    route = respx.post(UPSERT_URL).mock(side_effect=[exc, httpx.Response(200, json=OK)])
    assert (await send(sleeps)).status_code == 200
    assert route.call_count == 2


@pytest.mark.parametrize(
    ("status", "category"),
    [(400, "VALIDATION_ERROR"), (401, "INVALID_AUTHENTICATION"), (403, "MISSING_SCOPES")],
)
@respx.mock
async def test_400_401_403_are_not_retried(
    sleeps: RecordingSleep, status: int, category: str
) -> None:
    route = respx.post(UPSERT_URL).mock(return_value=error(status, category))
    response = await send(sleeps)
    assert response.status_code == status
    assert isinstance(response.parsed, Error)
    assert response.parsed.category == category
    assert route.call_count == 1
    assert sleeps.calls == []


@respx.mock
async def test_attempt_cap(sleeps: RecordingSleep) -> None:
    route = respx.post(UPSERT_URL).mock(return_value=error(503, "INTERNAL_ERROR"))
    stats = UpsertReport()
    response = await send(sleeps, policy=RetryPolicy(max_attempts=4), stats=stats)
    assert response.status_code == 503  # the last answer, unchanged
    assert route.call_count == 4
    assert len(sleeps.calls) == 3
    assert (stats.requests, stats.retries) == (4, 3)


@respx.mock
async def test_attempt_cap_reraises_the_last_connection_error(sleeps: RecordingSleep) -> None:
    route = respx.post(UPSERT_URL).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(httpx.ConnectError):
        await send(sleeps, policy=RetryPolicy(max_attempts=3))
    assert route.call_count == 3


@respx.mock
async def test_retry_after_honoured(sleeps: RecordingSleep) -> None:
    when = datetime.now(UTC) + timedelta(seconds=30)
    respx.post(UPSERT_URL).mock(
        side_effect=[
            too_many("TEN_SECONDLY_ROLLING", **{"Retry-After": "7"}),
            # an HTTP-date is a Retry-After too
            httpx.Response(503, headers={"Retry-After": format_datetime(when, usegmt=True)}),
            httpx.Response(200, json=OK),
        ]
    )
    policy = RetryPolicy(initial_wait=0.1, max_wait=0.2)  # backoff alone would wait < 0.2 s
    assert (await send(sleeps, policy=policy)).status_code == 200
    assert sleeps.calls[0] == 7.0
    assert 28 <= sleeps.calls[1] <= 30


@respx.mock
async def test_a_retry_after_on_a_429_pauses_every_worker(
    sleeps: RecordingSleep, fake_time: FakeTime
) -> None:
    respx.post(UPSERT_URL).mock(
        side_effect=[
            too_many("TEN_SECONDLY_ROLLING", **{"Retry-After": "5"}),
            httpx.Response(200, json=OK),
        ]
    )
    budget = RequestBudget(RateLimit(100, 10.0))
    pacer = AsyncPacer(budget, clock=fake_time.clock, sleep=fake_time.sleep)
    await send(sleeps, pacer=pacer)
    # The retry itself waited out Retry-After (sleeps); the shared budget held everyone else
    # until 5 s after the 429 (fake_time: the pacer's own waits).
    assert sleeps.calls == [5.0]
    assert fake_time.slept == [5.0]
    assert isinstance(budget.reserve(fake_time.now), Slot)


@respx.mock
async def test_a_retry_after_beyond_the_limit_is_not_waited_out(sleeps: RecordingSleep) -> None:
    route = respx.post(UPSERT_URL).mock(
        return_value=too_many("TEN_SECONDLY_ROLLING", **{"Retry-After": "3600"})
    )
    response = await send(sleeps, policy=RetryPolicy(max_retry_after=60))
    assert response.status_code == 429
    assert route.call_count == 1


@respx.mock
async def test_backoff_is_exponential_with_jitter(sleeps: RecordingSleep) -> None:
    respx.post(UPSERT_URL).mock(return_value=error(502, "INTERNAL_ERROR"))
    await send(sleeps, policy=RetryPolicy(max_attempts=6, initial_wait=1.0, max_wait=8.0))
    caps = [1.0, 2.0, 4.0, 8.0, 8.0]
    assert len(sleeps.calls) == len(caps)
    for waited, cap in zip(sleeps.calls, caps, strict=True):
        assert cap / 2 <= waited <= cap
    assert len(set(sleeps.calls)) == len(sleeps.calls)  # jittered, not a fixed ladder


@respx.mock
async def test_default_timeouts_are_finite(sleeps: RecordingSleep) -> None:
    route = respx.post(UPSERT_URL).mock(return_value=httpx.Response(200, json=OK))
    await send(sleeps)
    timeout = route.calls[0].request.extensions["timeout"]
    assert set(timeout) == {"connect", "read", "write", "pool"}
    assert all(isinstance(v, float) and 0 < v < 600 for v in timeout.values())


@respx.mock
async def test_finite_timeouts_even_when_the_client_sets_none(sleeps: RecordingSleep) -> None:
    from hubspot_postal_mail_client import AuthenticatedClient

    route = respx.post(UPSERT_URL).mock(return_value=httpx.Response(200, json=OK))
    transport = AsyncResilientTransport(sleep=sleeps)
    # The generated client's own default is no timeout at all.
    client = AuthenticatedClient(
        base_url=BASE_URL, token=TOKEN, httpx_args={"transport": transport}
    )
    async with client:
        await batch_upsert.asyncio_detailed(client=client, body=BODY)
    timeout = route.calls[0].request.extensions["timeout"]
    assert all(isinstance(v, float) and 0 < v < 600 for v in timeout.values())


@respx.mock
async def test_every_attempt_hubspot_may_have_counted_holds_a_slot(sleeps: RecordingSleep) -> None:
    counted = {"X-HubSpot-RateLimit-Max": "100", "X-HubSpot-RateLimit-Remaining": "99"}
    respx.post(UPSERT_URL).mock(
        side_effect=[
            httpx.ReadTimeout("slow"),  # maybe counted: no answer to say otherwise
            httpx.Response(500, json={"message": "oops"}, headers=counted),
            httpx.Response(200, json=OK),  # no headers: counted all the same
        ]
    )
    budget = RequestBudget(RateLimit(100, 10.0))
    pacer = AsyncPacer(budget, clock=lambda: 0.0, sleep=sleeps)
    await send(sleeps, pacer=pacer)
    assert budget.used(0.0) == 3


@respx.mock
async def test_attempts_that_never_reached_hubspots_counter_give_their_slots_back(
    sleeps: RecordingSleep,
) -> None:
    respx.post(UPSERT_URL).mock(
        side_effect=[
            error(502, "BAD_GATEWAY"),  # no rate-limit headers: from in front of the counter
            httpx.RemoteProtocolError("Server disconnected without sending a response."),
            httpx.ConnectError("refused"),
            httpx.ConnectTimeout("slow"),
            httpx.Response(200, json=OK),
        ]
    )
    budget = RequestBudget(RateLimit(100, 10.0))
    pacer = AsyncPacer(budget, clock=lambda: 0.0, sleep=sleeps)
    await send(sleeps, pacer=pacer)
    assert budget.used(0.0) == 1


@respx.mock
async def test_a_retry_asks_the_budget_for_a_retry_slot(sleeps: RecordingSleep) -> None:
    respx.post(UPSERT_URL).mock(side_effect=[error(503), error(503), httpx.Response(200, json=OK)])
    asked: list[bool] = []

    class Recording(AsyncPacer):
        async def acquire(self, *, retry: bool = False) -> Slot:
            asked.append(retry)
            return await super().acquire(retry=retry)

    await send(sleeps, pacer=Recording(RequestBudget(), clock=lambda: 0.0, sleep=sleeps))
    assert asked == [False, True, True]


@respx.mock
async def test_a_429_reporting_a_full_window_holds_the_budget_for_that_window(
    sleeps: RecordingSleep,
) -> None:
    full = {
        "X-HubSpot-RateLimit-Max": "100",
        "X-HubSpot-RateLimit-Remaining": "0",
        "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
    }
    respx.post(UPSERT_URL).mock(
        side_effect=[too_many("TEN_SECONDLY_ROLLING", **full), httpx.Response(200, json=OK)]
    )
    now = [0.0]
    budget = RequestBudget(RateLimit(5, 1.0), safety=0.0)  # 5/s: tighter than HubSpot, kept

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    pacer = AsyncPacer(budget, clock=lambda: now[0], sleep=sleep)
    await send(sleeps, pacer=pacer)  # the retry waited for the 429's window, not ours
    assert (budget.limit, budget.interval) == (5, 1.0)
    assert now[0] == pytest.approx(10.0)


@respx.mock
async def test_rate_limit_headers_tighten_the_shared_budget(sleeps: RecordingSleep) -> None:
    headers = {
        "X-HubSpot-RateLimit-Max": "50",
        "X-HubSpot-RateLimit-Remaining": "10",
        "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
    }
    respx.post(UPSERT_URL).mock(return_value=httpx.Response(200, json=OK, headers=headers))
    budget = RequestBudget(RateLimit(190, 10.0))
    pacer = AsyncPacer(budget, clock=lambda: 0.0, sleep=sleeps)
    await send(sleeps, pacer=pacer)
    assert (budget.limit, budget.interval) == (50, 10.0)
    assert budget.used(0.0) == 40  # HubSpot counted 40 in its window: someone else spent 39


@respx.mock
async def test_the_client_sends_the_token_only_in_the_header() -> None:
    route = respx.post(UPSERT_URL).mock(return_value=httpx.Response(200, json=OK))
    client = client_with_transport(Secret(TOKEN), BASE_URL, AsyncResilientTransport())
    async with client:
        await batch_upsert.asyncio_detailed(client=client, body=BODY)
    assert route.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in repr(client)
    assert TOKEN not in str(client)
