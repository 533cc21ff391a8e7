"""Which answers are worth another attempt, and how long to wait first: pure rules, no I/O.

An upsert keyed by a unique property is idempotent, so a POST is retried like any other request
when the failure is transient: a ``TEN_SECONDLY_ROLLING`` 429, a 5xx, a dropped connection or a
timeout. A ``DAILY`` 429 does not clear before midnight and 400/401/403 will not change on their
own, so those are final at once.
"""

from __future__ import annotations

import email.utils
import enum
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from ._constants import (
    DEFAULT_INITIAL_WAIT_S,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_RETRY_AFTER_S,
    DEFAULT_MAX_WAIT_S,
)
from ._rate_limits import Policy, rate_limit_info


class Kind(enum.Enum):
    """What an answer (or the lack of one) means for the records in the request."""

    OK = "ok"
    RATE_LIMITED = "rate_limited"  # 429 TEN_SECONDLY_ROLLING (or no policy named): clears soon
    DAILY_LIMIT = "daily_limit"  # 429 DAILY: nothing more today
    SERVER_ERROR = "server_error"  # 5xx, 408
    NETWORK = "network"  # connection refused/dropped, protocol error
    TIMEOUT = "timeout"
    AUTH = "auth"  # 401, 403: the token or its scopes are wrong
    REJECTED = "rejected"  # 400 and other 4xx: the request itself is wrong
    FATAL = "fatal"  # a local error (bad URL, unsupported protocol): retrying cannot help


TRANSIENT = frozenset({Kind.RATE_LIMITED, Kind.SERVER_ERROR, Kind.NETWORK, Kind.TIMEOUT})
STOPS_RUN = frozenset({Kind.DAILY_LIMIT, Kind.AUTH})


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. Waits grow as ``initial_wait * 2**(n-1)``, capped, with jitter."""

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    initial_wait: float = DEFAULT_INITIAL_WAIT_S
    max_wait: float = DEFAULT_MAX_WAIT_S
    # A Retry-After longer than this is not waited out: the answer is returned as final.
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER_S

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.initial_wait < 0 or self.max_wait < self.initial_wait:
            raise ValueError("need 0 <= initial_wait <= max_wait")


def retry_after_seconds(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds from now (delta-seconds or an HTTP date); None if absent/bad."""
    value = httpx.Headers(headers).get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN, inf
        return None
    return max(0.0, seconds)


def rate_limit_policy_name(body: bytes) -> str | None:
    """``policyName`` of a 429 body, if the body is JSON and names one."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(data, dict):
        name = data.get("policyName")
        if isinstance(name, str):
            return name.upper()
    return None


def classify_status(status: int, headers: Mapping[str, str], body: bytes) -> Kind:
    """The meaning of an HTTP answer; a 429's body says which limit was hit."""
    if status < 400:
        return Kind.OK
    if status == 429:
        policy = rate_limit_policy_name(body)
        if policy == Policy.DAILY:
            return Kind.DAILY_LIMIT
        if policy is None and rate_limit_info(headers).daily_remaining == 0:
            return Kind.DAILY_LIMIT
        return Kind.RATE_LIMITED
    if status in (401, 403):
        return Kind.AUTH
    if status == 408 or (status >= 500 and status not in (501, 505)):
        return Kind.SERVER_ERROR
    return Kind.REJECTED


def classify_exception(exc: BaseException) -> Kind:
    """The meaning of a failure to get any answer."""
    if isinstance(exc, httpx.TimeoutException):
        return Kind.TIMEOUT
    if isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError):
        return Kind.NETWORK
    if isinstance(exc, httpx.DecodingError):
        return Kind.SERVER_ERROR  # a broken (or absurdly large) body: the server's fault
    return Kind.FATAL


def backoff(retry_number: int, policy: RetryPolicy, rng: random.Random) -> float:
    """Exponential backoff with "equal jitter": between half and all of the capped exponential."""
    base = min(policy.max_wait, policy.initial_wait * 2.0 ** max(0, retry_number - 1))
    return base / 2 + rng.uniform(0, base / 2)


def should_retry(kind: Kind, retry_after: float | None, policy: RetryPolicy) -> bool:
    """Retry transient failures only, and only if any Retry-After is one we are willing to wait."""
    if kind not in TRANSIENT:
        return False
    return retry_after is None or retry_after <= policy.max_retry_after


def wait_seconds(
    retry_number: int, policy: RetryPolicy, rng: random.Random, retry_after: float | None = None
) -> float:
    """Seconds to wait before retry ``retry_number`` (1-based).

    ``Retry-After`` wins when present: we never come back sooner than the server asked.
    """
    if retry_after is not None:
        return retry_after
    return backoff(retry_number, policy, rng)
