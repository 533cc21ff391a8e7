"""The retry rules as pure functions: what each answer means, and how long to wait."""

from __future__ import annotations

import random  # seeded jitter in tests, not secrets
from datetime import UTC, datetime

import httpx
import pytest

from hubspot_postal_mail._rate_limits import rate_limit_info
from hubspot_postal_mail._retry_policy import (
    Kind,
    RetryPolicy,
    backoff,
    classify_exception,
    classify_status,
    retry_after_seconds,
    should_retry,
    wait_seconds,
)

DAILY = b'{"status":"error","errorType":"RATE_LIMIT","policyName":"DAILY","message":"x"}'
ROLLING = b'{"status":"error","errorType":"RATE_LIMIT","policyName":"TEN_SECONDLY_ROLLING"}'


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (200, b"", Kind.OK),
        (207, b"", Kind.OK),
        (429, ROLLING, Kind.RATE_LIMITED),
        (429, DAILY, Kind.DAILY_LIMIT),
        (429, b"<html>", Kind.RATE_LIMITED),
        (500, b"", Kind.SERVER_ERROR),
        (503, b"", Kind.SERVER_ERROR),
        (408, b"", Kind.SERVER_ERROR),
        (501, b"", Kind.REJECTED),
        (400, b"", Kind.REJECTED),
        (404, b"", Kind.REJECTED),
        (401, b"", Kind.AUTH),
        (403, b"", Kind.AUTH),
    ],
)
def test_classify_status(status: int, body: bytes, kind: Kind) -> None:
    assert classify_status(status, {}, body) is kind


def test_only_transient_kinds_are_retried() -> None:
    policy = RetryPolicy()
    retried = {k for k in Kind if should_retry(k, None, policy)}
    assert retried == {Kind.RATE_LIMITED, Kind.SERVER_ERROR, Kind.NETWORK, Kind.TIMEOUT}


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (httpx.ConnectError("x"), Kind.NETWORK),
        (httpx.ReadError("x"), Kind.NETWORK),
        (httpx.RemoteProtocolError("x"), Kind.NETWORK),
        (httpx.ReadTimeout("x"), Kind.TIMEOUT),
        (httpx.PoolTimeout("x"), Kind.TIMEOUT),
        (httpx.UnsupportedProtocol("x"), Kind.FATAL),
        (ValueError("x"), Kind.FATAL),
    ],
)
def test_classify_exception(exc: Exception, kind: Kind) -> None:
    assert classify_exception(exc) is kind


def test_retry_after_forms() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds({"Retry-After": "12"}) == 12.0
    assert retry_after_seconds({"retry-after": "1.5"}) == 1.5
    assert retry_after_seconds({"Retry-After": "Thu, 01 Jan 2026 12:00:30 GMT"}, now) == 30.0
    assert retry_after_seconds({"Retry-After": "Thu, 01 Jan 2026 11:00:00 GMT"}, now) == 0.0
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds({}) is None


def test_rate_limit_headers_current_and_older_names() -> None:
    info = rate_limit_info(
        {
            "X-HubSpot-RateLimit-Max": "190",
            "X-HubSpot-RateLimit-Remaining": "12",
            "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
            "X-HubSpot-RateLimit-Daily-Remaining": "5000",
        }
    )
    assert (info.max, info.remaining, info.interval_s, info.daily_remaining) == (
        190,
        12,
        10.0,
        5000,
    )
    old = rate_limit_info(
        {"X-HubSpot-RateLimit-Secondly": "10", "X-HubSpot-RateLimit-Secondly-Remaining": "3"}
    )
    assert (old.max, old.remaining, old.interval_s) == (10, 3, 1.0)
    assert rate_limit_info({"X-HubSpot-RateLimit-Max": "lots"}).max is None


def test_backoff_doubles_up_to_the_cap_with_jitter() -> None:
    policy = RetryPolicy(initial_wait=0.5, max_wait=4.0)
    rng = random.Random(3)  # noqa: S311
    for n, cap in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 4.0)]:
        waits = {backoff(n, policy, rng) for _ in range(50)}
        assert all(cap / 2 <= w <= cap for w in waits)
        assert len(waits) > 1


def test_retry_after_wins_over_backoff_and_a_long_one_is_not_retried() -> None:
    policy = RetryPolicy(max_retry_after=60)
    assert wait_seconds(1, policy, random.Random(0), retry_after=9.0)  # noqa: S311 == 9.0
    assert should_retry(Kind.RATE_LIMITED, 60.0, policy)
    assert not should_retry(Kind.RATE_LIMITED, 61.0, policy)


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="initial_wait"):
        RetryPolicy(initial_wait=5, max_wait=1)
