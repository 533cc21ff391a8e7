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
    latency_seconds: float = 0.0
    # Seconds for a Retry-After header on 429 and injected 5xx answers; None: no header.
    retry_after: int | None = None
    seed: int | None = None
    # 207 is the current contract; 200 reproduces the 2025-2026 v3 contract, which carried
    # per-input errors inside a 200 body. Clients must cope with both.
    partial_status: Literal[200, 207] = 207
    shuffle_results: bool = True
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
        for name, rate in (("fault rate", self.fault_rate), ("drop rate", self.drop_rate)):
            if not 0.0 <= rate <= 1.0:
                raise ConfigError(f"{name} must be between 0 and 1, got {rate}")
        if self.latency_seconds < 0:
            raise ConfigError("latency cannot be negative")
        if self.retry_after is not None and self.retry_after < 0:
            raise ConfigError("Retry-After cannot be negative")
        if self.tokens is not None and any(not token for token in self.tokens):
            raise ConfigError("an empty token can never authenticate")

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
