"""The generated client, wired to the resilient transports and a redacted token.

The generated ``AuthenticatedClient`` is used as is; only its ``repr`` is replaced, because the
attrs default would print the token. The resilient transport goes in through ``httpx_args``.
"""

from __future__ import annotations

import httpx
from hubspot_postal_mail_client import AuthenticatedClient

from ._config import REDACTED, Secret, resolve_base_url, resolve_token
from ._pacing import Pacer, RateLimit, RequestBudget
from ._retry_policy import RetryPolicy
from ._stats import RequestStats
from ._transport import DEFAULT_TIMEOUT, AsyncResilientTransport, ResilientTransport


class RedactedClient(AuthenticatedClient):
    """``AuthenticatedClient`` whose ``repr`` (and so ``str``) never shows the token."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"AuthenticatedClient(base_url={self._base_url!r}, token={REDACTED!r})"


def client_with_transport(
    token: Secret,
    base_url: str,
    transport: httpx.BaseTransport | httpx.AsyncBaseTransport,
    *,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
) -> AuthenticatedClient:
    """A generated client that sends through ``transport`` (use it sync or async, as built)."""
    return RedactedClient(
        base_url=base_url,
        token=token.reveal(),
        timeout=timeout,
        httpx_args={"transport": transport},
    )


def resilient_client(
    token: str | Secret | None = None,
    base_url: str | None = None,
    *,
    rate_limit: RateLimit | str | None = None,
    policy: RetryPolicy | None = None,
    stats: RequestStats | None = None,
) -> AuthenticatedClient:
    """A sync generated client that retries and paces: for ``batch_upsert.sync_detailed``."""
    transport = ResilientTransport(
        policy=policy,
        pacer=Pacer(RequestBudget(RateLimit.coerce(rate_limit))),
        stats=stats,
    )
    return client_with_transport(resolve_token(token), resolve_base_url(base_url), transport)


__all__ = [
    "AsyncResilientTransport",
    "RedactedClient",
    "client_with_transport",
    "resilient_client",
]
