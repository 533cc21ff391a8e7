"""Drive the generated client through respx: one call, its captured request, its response."""

from __future__ import annotations

import json
from typing import Any, TypeVar

import httpx
import respx
from hubspot_postal_mail_client import AuthenticatedClient
from hubspot_postal_mail_client.api.batch import batch_upsert
from hubspot_postal_mail_client.models import BatchInputSimplePublicObjectBatchInputUpsert
from hubspot_postal_mail_client.types import Response, Unset

from contract_tests.pinned import BASE_URL, PATH

TOKEN = "pat-na1-00000000-contract-test"  # a made-up token; never a real one
OK_BODY = {
    "status": "COMPLETE",
    "results": [],
    "startedAt": "2026-01-01T00:00:00Z",
    "completedAt": "2026-01-01T00:00:01Z",
}
Parsed = Any
T = TypeVar("T")


def present(value: T | Unset) -> T:
    """The value of an optional field the test expects to be there."""
    assert not isinstance(value, Unset), "expected the field to be present"
    return value


def client(*, raise_on_unexpected_status: bool = False) -> AuthenticatedClient:
    return AuthenticatedClient(
        base_url=BASE_URL, token=TOKEN, raise_on_unexpected_status=raise_on_unexpected_status
    )


def encoded(document: Any) -> bytes:
    """JSON bytes as a server would send them (ASCII escapes keep any code point intact)."""
    return json.dumps(document).encode("ascii")


def _route(router: respx.Router, status: int, content: bytes, content_type: str) -> respx.Route:
    return router.post(PATH).mock(
        return_value=httpx.Response(status, content=content, headers={"Content-Type": content_type})
    )


def send(
    body: dict[str, Any],
    *,
    status: int = 200,
    content: bytes | None = None,
    content_type: str = "application/json",
    raise_on_unexpected_status: bool = False,
) -> tuple[Response[Parsed], httpx.Request]:
    """Send ``body`` through the sync client; return its response and the request respx saw."""
    model = BatchInputSimplePublicObjectBatchInputUpsert.from_dict(body)
    with respx.mock(base_url=BASE_URL, assert_all_called=True) as router:
        route = _route(
            router, status, encoded(OK_BODY) if content is None else content, content_type
        )
        with client(raise_on_unexpected_status=raise_on_unexpected_status) as c:
            response = batch_upsert.sync_detailed(client=c, body=model)
    return response, route.calls.last.request


async def asend(
    body: dict[str, Any], *, status: int = 200, content: bytes | None = None
) -> tuple[Response[Parsed], httpx.Request]:
    """The async twin of :func:`send`."""
    model = BatchInputSimplePublicObjectBatchInputUpsert.from_dict(body)
    async with respx.mock(base_url=BASE_URL, assert_all_called=True) as router:
        route = _route(
            router, status, encoded(OK_BODY) if content is None else content, "application/json"
        )
        async with client() as c:
            response = await batch_upsert.asyncio_detailed(client=c, body=model)
    return response, route.calls.last.request


def receive(status: int, document: Any) -> Response[Parsed]:
    """Serve ``document`` with ``status`` to a minimal valid request; return the response."""
    response, _ = send(
        {"inputs": [{"id": "1", "properties": {}}]}, status=status, content=encoded(document)
    )
    return response
