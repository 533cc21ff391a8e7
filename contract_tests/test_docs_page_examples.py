"""The docs page's example request and response, as fixtures of our own, field by field."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from hubspot_postal_mail_client.models import (
    BatchResponseSimplePublicUpsertObject,
    ErrorDetailContextType0,
    StandardErrorSubCategoryType1,
)

from contract_tests import harness, pinned

FIXTURES = Path(__file__).parent / "fixtures"


def _load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def test_docs_request_is_sent_field_by_field() -> None:
    body = _load("docs_page_request.json")
    pinned.validator(pinned.REQUEST_SCHEMA).validate(body)
    _, request = harness.send(body)
    sent = json.loads(request.content)["inputs"][0]
    assert sent["id"] == "PM-2026-000417"
    assert sent["properties"] == {}
    assert sent["idProperty"] == "mail_reference"
    assert sent["objectWriteTraceId"] == "trace-000417"
    assert set(sent) == {"id", "properties", "idProperty", "objectWriteTraceId"}


def test_docs_response_parses_field_by_field() -> None:
    document = _load("docs_page_response.json")
    response = harness.receive(200, document)
    parsed = response.parsed
    assert isinstance(parsed, BatchResponseSimplePublicUpsertObject)
    utc = dt.UTC
    assert parsed.completed_at == dt.datetime(2026, 2, 14, 9, 30, 12, tzinfo=utc)
    assert parsed.started_at == dt.datetime(2026, 2, 14, 9, 30, 10, tzinfo=utc)
    assert parsed.requested_at == dt.datetime(2026, 2, 14, 9, 30, 9, tzinfo=utc)
    assert parsed.status == "CANCELED"
    assert parsed.status.is_known
    assert harness.present(parsed.links).to_dict() == {}
    assert parsed.num_errors == 1

    [result] = parsed.results
    assert result.archived is False
    assert result.created_at == dt.datetime(2026, 2, 14, 9, 30, 11, tzinfo=utc)
    assert result.updated_at == dt.datetime(2026, 2, 14, 9, 30, 11, tzinfo=utc)
    assert result.archived_at == dt.datetime(2026, 2, 14, 9, 30, 12, tzinfo=utc)
    assert result.id == "51234567890"
    assert result.new is True
    assert result.properties.to_dict() == {}
    assert result.object_write_trace_id == "trace-000417"
    assert harness.present(result.properties_with_history).to_dict() == {}
    assert result.url == "https://app.example.invalid/records/51234567890"

    [error] = harness.present(parsed.errors)
    assert error.category == "VALIDATION_ERROR"
    assert error.message == "One input could not be written"
    assert error.status == "error"
    assert error.id == "err-7"
    assert isinstance(error.sub_category, StandardErrorSubCategoryType1)
    assert error.sub_category.to_dict() == {}
    [detail] = harness.present(error.errors)
    assert detail.message == "Property values were not valid"
    assert detail.code == "INVALID_OPTION"
    assert detail.in_ == "hs_postal_mail_body"
    assert detail.sub_category == "UNKNOWN_DETAIL"
    assert not isinstance(detail.context, ErrorDetailContextType0)
    assert detail.context == (
        "{missingScopes=[crm.objects.contacts.write, crm.objects.contacts.read]}"
    )

    schema = pinned.schema(pinned.RESPONSE_SCHEMAS["200"])
    assert parsed.to_dict() == pinned.normalise_datetimes(document, schema)
