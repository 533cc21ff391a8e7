"""What a fake HubSpot account looks like: tokens, properties, limits and faults."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from hubspot_postal_mail._exceptions import ConfigError
from hubspot_postal_mail._rate_limits import RateLimit

# HubSpot's documented postal-mail properties (the ones an integration can write).
DOCUMENTED_PROPERTIES = frozenset(
    {"hs_timestamp", "hs_postal_mail_body", "hubspot_owner_id", "hs_attachment_ids"}
)
# Properties HubSpot maintains itself: readable on every record, never writable.
READ_ONLY_PROPERTIES = frozenset({"hs_object_id", "hs_createdate", "hs_lastmodifieddate"})
# HubSpot's object type id for postal mail; it appears in HubSpot's error messages.
OBJECT_TYPE_ID = "0-116"
DEFAULT_UNIQUE_PROPERTY = "external_id"


@dataclass(frozen=True, slots=True)
class FakeConfig:
    """Options of one fake account; every default is what HubSpot's Free tier does."""

    # token -> granted scopes (None: every scope). None for the whole map: any non-empty token.
    # Kept out of repr so that a failing test's report never shows a token.
    tokens: Mapping[str, frozenset[str] | None] | None = field(default=None, repr=False)
    # Tokens that HubSpot would answer with EXPIRED_AUTHENTICATION.
    expired_tokens: frozenset[str] = field(default=frozenset(), repr=False)
    unique_properties: tuple[str, ...] = (DEFAULT_UNIQUE_PROPERTY,)
    extra_properties: tuple[str, ...] = ()
    # (requests, seconds) per token in a rolling window: HubSpot's TEN_SECONDLY_ROLLING policy.
    rate_limit: tuple[int, float] = (100, 10.0)
    # Requests per UTC day for the whole account (HubSpot's DAILY policy); None: unlimited.
    daily_limit: int | None = 250_000
    max_inputs: int = 100
    # Fault injection, each drawn per request from a generator seeded with `seed`.
    fault_rate: float = 0.0
    drop_rate: float = 0.0
    # Dropped requests are processed (records written) before the connection is closed: the
    # answer is lost, as when a response dies on the way back, so a retry updates.
    drop_after_write: bool = False
    # Share of requests a proxy in front answers with an HTML 502 page (text/html, not JSON).
    html_fault_rate: float = 0.0
    # Time each admitted upsert takes (after authentication and rate limits, before the write):
    # median * exp(sigma * N(0, 1)), a log-normal drawn from a generator seeded with `seed`,
    # then clamped to `latency_max_s` when set. `latency_seconds` is the older name for the
    # median (with sigma 0 it is one fixed delay); set one of the two.
    latency_seconds: float = 0.0
    latency_median_s: float | None = None
    latency_sigma: float = 0.0
    latency_max_s: float | None = None
    # Seconds for a Retry-After header on TEN_SECONDLY_ROLLING 429s and injected 5xx answers;
    # None: no header. A DAILY 429 never gets it: with it set, it says when the day ends (UTC).
    retry_after: int | None = None
    seed: int | None = None
    # 207 is the current contract; 200 reproduces the 2025-2026 v3 contract, which carried
    # per-input errors inside a 200 body. Clients must cope with both.
    partial_status: Literal[200, 207] = 207
    shuffle_results: bool = True
    # "batch": an input taking a unique value another record holds fails the whole request
    # with 409 CONFLICT and nothing is written, as HubSpot does. "per-input": only that input
    # fails (listed in a 207's errors when every input has an objectWriteTraceId).
    conflict_mode: Literal["batch", "per-input"] = "batch"
    # Share of ids (picked by a hash of seed and id, so the same ids every time) that always
    # conflict, as if an archived record still held the value: conflicts without crafted data.
    conflict_share: float = 0.0
    # "private-app" answers carry X-HubSpot-RateLimit-Daily(-Remaining); "oauth" ones do not.
    auth_mode: Literal["private-app", "oauth"] = "private-app"
    # "pin": error bodies carry every field the pinned spec requires. "hubspot": as HubSpot
    # really sends them, off the pin: no `category` on a malformed-JSON 400 or on a 429.
    error_bodies: Literal["pin", "hubspot"] = "pin"
    # Object ids count up from here, like HubSpot's large numeric ids.
    first_object_id: int = 90_000_000_001

    def __post_init__(self) -> None:
        if not self.unique_properties:
            raise ConfigError("at least one unique property is needed to upsert by")
        for name in self.unique_properties:
            if name in READ_ONLY_PROPERTIES:
                raise ConfigError(f"{name} is HubSpot's own property and cannot be unique-valued")
        count, seconds = self.rate_limit
        if count < 1 or not (seconds > 0 and math.isfinite(seconds)):
            raise ConfigError("rate limit needs at least 1 request per a positive time window")
        if self.daily_limit is not None and self.daily_limit < 1:
            raise ConfigError("daily limit must be at least 1 (or None for no limit)")
        rates = (
            ("fault rate", self.fault_rate),
            ("drop rate", self.drop_rate),
            ("HTML fault rate", self.html_fault_rate),
            ("conflict share", self.conflict_share),
        )
        for name, rate in rates:
            if not 0.0 <= rate <= 1.0:
                raise ConfigError(f"{name} must be between 0 and 1, got {rate}")
        self._check_latency()
        if self.retry_after is not None and self.retry_after < 0:
            raise ConfigError("Retry-After cannot be negative")
        if self.tokens is not None and any(not token for token in self.tokens):
            raise ConfigError("an empty token can never authenticate")
        for name, value, allowed in (
            ("conflict mode", self.conflict_mode, ("batch", "per-input")),
            ("auth mode", self.auth_mode, ("private-app", "oauth")),
            ("error bodies", self.error_bodies, ("pin", "hubspot")),
        ):
            if value not in allowed:
                raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")

    def _check_latency(self) -> None:
        values = [self.latency_seconds, self.latency_sigma]
        values += [v for v in (self.latency_median_s, self.latency_max_s) if v is not None]
        if any(not (v >= 0 and math.isfinite(v)) for v in values):
            raise ConfigError("latency settings must be finite and not negative")
        if self.latency_median_s is not None and self.latency_seconds:
            raise ConfigError("set latency_median_s or latency_seconds (its older name), not both")

    @property
    def latency_median(self) -> float:
        """Median seconds of an admitted upsert, whichever of its two names set it."""
        return self.latency_seconds if self.latency_median_s is None else self.latency_median_s

    @property
    def known_properties(self) -> frozenset[str]:
        """Names an input may write."""
        return DOCUMENTED_PROPERTIES | frozenset(self.unique_properties + self.extra_properties)


def parse_token(text: str) -> tuple[str, frozenset[str] | None]:
    """``TOKEN`` (every scope) or ``TOKEN:scope,scope`` (only those scopes)."""
    token, sep, scopes = text.partition(":")
    if not token:
        raise ConfigError("a token must not be empty")
    if not sep:
        return token, None
    return token, frozenset(s.strip() for s in scopes.split(",") if s.strip())


def parse_rate_limit(text: str) -> tuple[int, float]:
    """``N/SECONDS``, e.g. ``100/10`` (HubSpot Free) or ``5/0.5``: the runtime's own parser."""
    rate = RateLimit.parse(text)
    return rate.requests, rate.seconds
