"""Every body the pinned spec allows parses, and ``to_dict()`` gives the same document back."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hubspot_postal_mail_client.models import (
    BatchResponseSimplePublicUpsertObject,
    BatchResponseSimplePublicUpsertObjectWithErrors,
    Error,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from contract_tests import harness, pinned

MODELS: dict[str, type[Any]] = {
    "200": BatchResponseSimplePublicUpsertObject,
    "207": BatchResponseSimplePublicUpsertObjectWithErrors,
    "default": Error,
}
# Statuses the default (error) response is served with: what HubSpot and proxies answer.
ERROR_STATUSES = st.sampled_from([400, 401, 403, 404, 409, 414, 429, 500, 502, 503, 504])


def _assert_round_trip(code: str, status: int, document: Any) -> None:
    pinned.validator(pinned.RESPONSE_SCHEMAS[code]).validate(document)
    response = harness.receive(status, document)
    assert response.status_code == status
    assert isinstance(response.parsed, MODELS[code]), response.content[:300]
    expected = pinned.normalise_datetimes(document, pinned.schema(pinned.RESPONSE_SCHEMAS[code]))
    assert response.parsed.to_dict() == expected


@given(document=pinned.documents(pinned.RESPONSE_SCHEMAS["200"]))
def test_200_bodies_parse_and_round_trip(document: Any) -> None:
    _assert_round_trip("200", 200, document)


@given(document=pinned.documents(pinned.RESPONSE_SCHEMAS["207"]))
def test_207_bodies_parse_and_round_trip(document: Any) -> None:
    _assert_round_trip("207", 207, document)


@given(document=pinned.documents(pinned.RESPONSE_SCHEMAS["default"]), status=ERROR_STATUSES)
def test_error_bodies_parse_and_round_trip(document: Any, status: int) -> None:
    _assert_round_trip("default", status, document)


@pytest.mark.parametrize("status", pinned.status_members())
@pytest.mark.parametrize("code", ["200", "207"])
@settings(max_examples=10)
@given(data=st.data())
def test_every_status_member_parses(code: str, status: str, data: st.DataObject) -> None:
    """Each declared status is forced at least once, whatever generation happens to pick."""
    document = data.draw(pinned.documents(pinned.RESPONSE_SCHEMAS[code]))
    document["status"] = status
    _assert_round_trip(code, int(code), document)
    parsed = harness.receive(int(code), document).parsed
    assert parsed is not None
    assert parsed.status.is_known
    assert parsed.status == status


def test_async_client_parses_each_response_kind() -> None:
    bodies = {
        200: {**harness.OK_BODY, "status": "COMPLETE"},
        207: {**harness.OK_BODY, "errors": [], "numErrors": 0},
        400: {"message": "bad", "category": "VALIDATION_ERROR", "correlationId": "c-1"},
    }
    for status, document in bodies.items():
        response, _ = asyncio.run(
            harness.asend(
                {"inputs": [{"id": "1", "properties": {}}]},
                status=status,
                content=harness.encoded(document),
            )
        )
        code = "default" if status >= 400 else str(status)
        assert isinstance(response.parsed, MODELS[code])
        schema = pinned.schema(pinned.RESPONSE_SCHEMAS[code])
        assert response.parsed.to_dict() == pinned.normalise_datetimes(document, schema)
