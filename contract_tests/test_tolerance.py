"""Bodies HubSpot (or a proxy in front of it) really sends that break the published schema.

Each test names one tolerance the generated client promises; the bodies are our own.
"""

from __future__ import annotations

from typing import Any

import pytest
from hubspot_postal_mail_client import errors
from hubspot_postal_mail_client.models import (
    BatchResponseSimplePublicUpsertObject,
    BatchResponseSimplePublicUpsertObjectStatus,
    BatchResponseSimplePublicUpsertObjectWithErrors,
    Error,
    StandardErrorSubCategoryType1,
)
from hubspot_postal_mail_client.types import UNSET

from contract_tests import harness

RESULT = {
    "id": "101",
    "new": True,
    "archived": False,
    "properties": {"mail_reference": "M-1"},
    "createdAt": "2026-03-01T10:00:00.123Z",
    "updatedAt": "2026-03-01T10:00:00.123Z",
    "objectWriteTraceId": "t-1",
}
BATCH = {
    "status": "COMPLETE",
    "results": [RESULT],
    "startedAt": "2026-03-01T10:00:00.001Z",
    "completedAt": "2026-03-01T10:00:00.456Z",
}


def _standard_error(**overrides: Any) -> dict[str, Any]:
    return {
        "status": "error",
        "category": "VALIDATION_ERROR",
        "message": "Property values were not valid",
        "context": {"objectWriteTraceId": ["t-2"]},
        "errors": [{"message": "bad option", "code": "INVALID_OPTION"}],
        "links": {},
        **overrides,
    }


def test_unknown_status_value_parses_survives_to_dict_and_is_distinguishable() -> None:
    parsed = harness.receive(200, {**BATCH, "status": "QUEUED"}).parsed
    assert isinstance(parsed, BatchResponseSimplePublicUpsertObject)
    assert parsed.status == "QUEUED"
    assert not parsed.status.is_known
    assert parsed.to_dict()["status"] == "QUEUED"
    assert BatchResponseSimplePublicUpsertObjectStatus.COMPLETE.is_known
    assert parsed.status not in list(BatchResponseSimplePublicUpsertObjectStatus)


def test_unknown_status_value_in_207_parses() -> None:
    parsed = harness.receive(207, {**BATCH, "status": "QUEUED", "errors": []}).parsed
    assert isinstance(parsed, BatchResponseSimplePublicUpsertObjectWithErrors)
    assert not parsed.status.is_known


def test_unknown_fields_are_kept_at_every_level() -> None:
    document = {
        **BATCH,
        "batchId": "b-9",
        "results": [
            {
                **RESULT,
                "shard": 3,
                "warnings": [{"category": "W", "message": "m", "context": {}, "hint": "x"}],
                "propertiesWithHistory": {
                    "mail_reference": [
                        {
                            "value": "M-1",
                            "timestamp": "2026-03-01T10:00:00Z",
                            "sourceType": "API",
                            "origin": "import",
                        }
                    ]
                },
            }
        ],
        "errors": [_standard_error(traceTag="q", errors=[{"message": "m", "severity": "low"}])],
    }
    parsed = harness.receive(200, document).parsed
    assert isinstance(parsed, BatchResponseSimplePublicUpsertObject)
    assert parsed["batchId"] == "b-9"
    result = parsed.results[0]
    assert result["shard"] == 3
    assert harness.present(result.warnings)[0]["hint"] == "x"
    history = harness.present(result.properties_with_history)
    assert history["mail_reference"][0]["origin"] == "import"
    errs = harness.present(parsed.errors)
    assert errs[0]["traceTag"] == "q"
    assert harness.present(errs[0].errors)[0]["severity"] == "low"
    dumped = parsed.to_dict()
    assert dumped["batchId"] == "b-9"
    assert dumped["results"][0]["propertiesWithHistory"]["mail_reference"][0]["origin"] == "import"


@pytest.mark.parametrize("sub_category", ["INVALID_EMAIL", {"reason": "x"}, {}])
def test_standard_error_sub_category_string_or_object(sub_category: Any) -> None:
    parsed = harness.receive(
        207, {**BATCH, "errors": [_standard_error(subCategory=sub_category)], "numErrors": 1}
    ).parsed
    assert isinstance(parsed, BatchResponseSimplePublicUpsertObjectWithErrors)
    got = harness.present(parsed.errors)[0].sub_category
    if isinstance(sub_category, str):
        assert got == sub_category
    else:
        assert isinstance(got, StandardErrorSubCategoryType1)
        assert got.to_dict() == sub_category


def test_200_carrying_errors_keeps_them_reachable() -> None:
    parsed = harness.receive(200, {**BATCH, "errors": [_standard_error()], "numErrors": 1}).parsed
    assert isinstance(parsed, BatchResponseSimplePublicUpsertObject)
    assert parsed.num_errors == 1
    error = harness.present(parsed.errors)[0]
    assert harness.present(error.context)["objectWriteTraceId"] == ["t-2"]
    assert error.category == "VALIDATION_ERROR"


def test_207_error_without_optional_containers_still_maps_to_inputs() -> None:
    bare = {
        "status": "error",
        "category": "VALIDATION_ERROR",
        "message": "m",
        "context": {"objectWriteTraceId": ["t-3"]},
    }
    parsed = harness.receive(207, {**BATCH, "errors": [bare]}).parsed
    assert isinstance(parsed, BatchResponseSimplePublicUpsertObjectWithErrors)
    error = harness.present(parsed.errors)[0]
    assert harness.present(error.context)["objectWriteTraceId"] == ["t-3"]


def test_correlation_id_that_is_not_a_uuid_parses() -> None:
    parsed = harness.receive(
        400, {"message": "m", "category": "VALIDATION_ERROR", "correlationId": "edge-7f3a"}
    ).parsed
    assert isinstance(parsed, Error)
    assert parsed.correlation_id == "edge-7f3a"


def test_429_without_category_parses_with_its_policy() -> None:
    body = {
        "status": "error",
        "message": "You have reached your secondly limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": "1f2e3d4c-0000-4000-8000-000000000001",
        "policyName": "TEN_SECONDLY_ROLLING",
        "groupName": "api-calls",
    }
    parsed = harness.receive(429, body).parsed
    assert isinstance(parsed, Error)
    assert parsed.category is UNSET
    assert parsed["policyName"] == "TEN_SECONDLY_ROLLING"
    assert parsed.to_dict() == body


def test_malformed_json_400_without_category_or_correlation_id_parses() -> None:
    body = {"status": "error", "message": "Invalid input JSON on line 1, column 2"}
    response = harness.receive(400, body)
    assert isinstance(response.parsed, Error)
    assert response.parsed.message.startswith("Invalid input JSON")
    assert response.parsed.correlation_id is UNSET


HTML_502 = b"<html><head><title>502 Bad Gateway</title></head><body>bad gateway</body></html>"


def test_html_error_body_gives_status_and_raw_body_in_the_response() -> None:
    response, _ = harness.send(
        {"inputs": [{"id": "1", "properties": {}}]},
        status=502,
        content=HTML_502,
        content_type="text/html",
    )
    assert response.status_code == 502
    assert response.parsed is None
    assert response.content == HTML_502


def test_html_error_body_raises_project_exception_when_asked_to() -> None:
    with pytest.raises(errors.UnparsableResponse) as caught:
        harness.send(
            {"inputs": [{"id": "1", "properties": {}}]},
            status=502,
            content=HTML_502,
            content_type="text/html",
            raise_on_unexpected_status=True,
        )
    assert caught.value.status_code == 502
    assert caught.value.content == HTML_502
    assert isinstance(caught.value, errors.UnexpectedStatus)


def test_truncated_json_success_body_does_not_crash() -> None:
    response, _ = harness.send(
        {"inputs": [{"id": "1", "properties": {}}]}, status=200, content=b'{"status": "COMPL'
    )
    assert response.status_code == 200
    assert response.parsed is None
    assert response.content == b'{"status": "COMPL'


def test_status_code_unknown_to_httpstatus_is_kept() -> None:
    response, _ = harness.send(
        {"inputs": [{"id": "1", "properties": {}}]},
        status=520,
        content=b"origin error",
        content_type="text/plain",
    )
    assert response.status_code == 520
    assert response.parsed is None
