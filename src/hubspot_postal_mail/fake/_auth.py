"""Bearer-token checks, answered the way HubSpot answers them (401 and 403 bodies)."""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass

from hubspot_postal_mail.fake import _bodies as bodies
from hubspot_postal_mail.fake._config import FakeConfig


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated app. ``key`` identifies it for rate limits without holding the token."""

    key: str


@dataclass(frozen=True, slots=True)
class Refusal:
    status: int
    body: bodies.Body


def _bearer(header: str | None) -> str | None:
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def authenticate(
    header: str | None, config: FakeConfig, required_scopes: Collection[str]
) -> Caller | Refusal:
    """Check an ``Authorization`` header against the configured tokens and their scopes."""
    token = _bearer(header)
    if token is None:
        return Refusal(401, bodies.missing_credentials())
    if token in config.expired_tokens:
        return Refusal(401, bodies.expired_token())
    if config.tokens is not None:
        if token not in config.tokens:
            return Refusal(401, bodies.invalid_token())
        granted = config.tokens[token]
        if granted is not None and not set(required_scopes) <= granted:
            return Refusal(403, bodies.missing_scopes(sorted(required_scopes)))
    return Caller(hashlib.sha256(token.encode()).hexdigest()[:16])
