"""What the generated client sends is what the pinned spec allows, and exactly what went in."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from hypothesis import given

from contract_tests import harness, pinned


def _assert_conforms(request: httpx.Request, body: dict[str, Any]) -> None:
    assert request.method == "POST"
    assert request.url.path == pinned.PATH
    assert request.url.query == b""
    assert request.headers["Authorization"] == f"Bearer {harness.TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    sent = json.loads(request.content)
    pinned.validator(pinned.REQUEST_SCHEMA).validate(sent)
    assert sent == body


@given(case=pinned.request_cases())
def test_sync_client_sends_generated_bodies_unchanged(case: Any) -> None:
    _, request = harness.send(case.body)
    _assert_conforms(request, case.body)


@given(case=pinned.request_cases())
def test_async_client_sends_generated_bodies_unchanged(case: Any) -> None:
    _, request = asyncio.run(harness.asend(case.body))
    _assert_conforms(request, case.body)


def test_every_optional_input_field_is_sent() -> None:
    """A fixed body using every declared input field, so no field can go missing unnoticed."""
    body = {
        "inputs": [
            {
                "id": "M-1",
                "idProperty": "mail_reference",
                "objectWriteTraceId": "t-1",
                "properties": {"hs_postal_mail_body": "Invoice enclosed"},
            }
        ]
    }
    _, request = harness.send(body)
    _assert_conforms(request, body)
