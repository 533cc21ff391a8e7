"""HubSpot's rate limits as values: a budget (``N/SECONDS``) and what the headers of one answer
say. One parser for the runtime, the command line and the fake alike; no I/O.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from ._constants import DEFAULT_RATE_LIMIT_TEXT
from ._exceptions import ConfigError


class Policy(enum.StrEnum):
    """HubSpot's limit policies, as a 429 body's ``policyName`` names them."""

    TEN_SECONDLY_ROLLING = "TEN_SECONDLY_ROLLING"
    DAILY = "DAILY"


@dataclass(frozen=True)
class RateLimit:
    """``requests`` per ``seconds``: the budget, as in ``--rate-limit N/SECONDS``."""

    requests: int
    seconds: float

    def __post_init__(self) -> None:
        if self.requests < 1 or not (self.seconds > 0 and math.isfinite(self.seconds)):
            raise ValueError("a rate limit needs at least 1 request per a positive interval")

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """``"100/10"`` or ``"20/1s"``: N requests per SECONDS seconds."""
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*s?\s*", text)
        if not match:
            raise ConfigError(f"rate limit must look like N/SECONDS (e.g. 100/10), got {text!r}")
        try:
            return cls(int(match.group(1)), float(match.group(2)))
        except ValueError as exc:
            raise ConfigError(f"rate limit {text!r}: {exc}") from None

    @classmethod
    def coerce(cls, value: RateLimit | str | tuple[int, float] | None) -> RateLimit:
        if value is None:
            return DEFAULT_RATE_LIMIT
        if isinstance(value, RateLimit):
            return value
        if isinstance(value, str):
            return cls.parse(value)
        return cls(int(value[0]), float(value[1]))


DEFAULT_RATE_LIMIT = RateLimit.parse(DEFAULT_RATE_LIMIT_TEXT)


@dataclass(frozen=True)
class RateLimitInfo:
    """What the ``X-HubSpot-RateLimit-*`` headers of one answer say (None where absent)."""

    max: int | None = None
    remaining: int | None = None
    interval_s: float | None = None
    daily_remaining: int | None = None


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def rate_limit_info(headers: Mapping[str, str]) -> RateLimitInfo:
    """Read the rate-limit headers, current names first, then the older ``-Secondly`` ones."""
    h = httpx.Headers(headers)
    interval_ms = _int_header(h, "X-HubSpot-RateLimit-Interval-Milliseconds")
    max_ = _int_header(h, "X-HubSpot-RateLimit-Max")
    remaining = _int_header(h, "X-HubSpot-RateLimit-Remaining")
    if max_ is None and interval_ms is None:
        max_ = _int_header(h, "X-HubSpot-RateLimit-Secondly")
        remaining = _int_header(h, "X-HubSpot-RateLimit-Secondly-Remaining")
        interval_ms = 1000 if max_ is not None else None
    return RateLimitInfo(
        max=max_ if max_ is None or max_ > 0 else None,
        remaining=remaining if remaining is None or remaining >= 0 else None,
        interval_s=interval_ms / 1000 if interval_ms and interval_ms > 0 else None,
        daily_remaining=_int_header(h, "X-HubSpot-RateLimit-Daily-Remaining"),
    )
