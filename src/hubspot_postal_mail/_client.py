"""The generated client, wired to the resilient transport and a redacted token.

The generated ``AuthenticatedClient`` is used as is; only its ``repr`` is replaced, because the
attrs default would print the token. The resilient transport goes in through ``httpx_args``.
"""

from __future__ import annotations

import httpx
from hubspot_postal_mail_client import AuthenticatedClient

from ._config import REDACTED, Secret
from ._constants import DEFAULT_TIMEOUT


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
