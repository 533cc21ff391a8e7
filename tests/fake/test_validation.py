"""Request-wide refusals: the body against the pinned request schema, the 100-input limit,
idProperty rules and duplicate ids. Each fails the whole request and writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hubspot_postal_mail import _spec as spec
from tests.fake.conftest import AUTH, PATH, Harness, inputs


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({}, ""),
        ({"inputs": {}}, "inputs"),
        ({"inputs": [{"properties": {}}]}, "inputs/0"),
        ({"inputs": [{"id": "a"}]}, "inputs/0"),
        ({"inputs": [{"id": 7, "properties": {}, "idProperty": "external_id"}]}, "inputs/0/id"),
        (
            {"inputs": [{"id": "a", "idProperty": "external_id", "properties": {"x": 1}}]},
            "inputs/0/properties/x",
        ),
        ([], ""),
    ],
    ids=[
        "no-inputs",
        "inputs-not-a-list",
        "no-id",
        "no-properties",
        "id-not-a-string",
        "property-not-a-string",
        "not-an-object",
    ],
)
async def test_bodies_outside_the_request_schema_are_400_validation_error(
    fake: Harness, body: Any, where: str
) -> None:
    response = await fake.upsert(body)
    assert response.status_code == 400
    error = response.json()
    assert error["category"] == "VALIDATION_ERROR"
    assert where in [detail["in"] for detail in error["errors"]]
    assert fake.app.records() == []


async def test_malformed_json_is_400_validation_error(fake: Harness) -> None:
    headers = {**AUTH, "Content-Type": "application/json"}
    response = await fake.client.post(PATH, content=b'{"inputs": [', headers=headers)
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"


async def test_with_hubspot_error_bodies_malformed_json_is_a_400_without_category(
    make_fake: Callable[..., Harness],
) -> None:
    fake = make_fake(off_pin=True, error_bodies="hubspot")
    headers = {**AUTH, "Content-Type": "application/json"}
    response = await fake.client.post(PATH, content=b'{"inputs": [', headers=headers)
    assert response.status_code == 400
    body = response.json()
    assert "category" not in body
    assert body["status"] == "error"
    assert body["message"].startswith("Invalid input JSON")
    assert body["correlationId"]
    # Only the malformed-JSON answer leaves the pin; schema refusals keep their category.
    assert (await fake.upsert({"inputs": "x"})).json()["category"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
async def test_bodies_not_sent_as_json_are_415(fake: Harness, content_type: str | None) -> None:
    headers = AUTH if content_type is None else {**AUTH, "Content-Type": content_type}
    response = await fake.client.post(PATH, content=b'{"inputs": []}', headers=headers)
    assert response.status_code == 415
    assert response.json()["category"] == "VALIDATION_ERROR"


async def test_a_json_content_type_with_parameters_is_json(fake: Harness) -> None:
    headers = {**AUTH, "Content-Type": "Application/JSON; charset=utf-8"}
    response = await fake.client.post(PATH, content=b'{"inputs": []}', headers=headers)
    assert response.status_code == 200


async def test_exactly_100_inputs_are_accepted(fake: Harness) -> None:
    response = await fake.upsert(inputs(*(f"r{n}" for n in range(100))))
    assert response.status_code == 200
    assert len(response.json()["results"]) == 100


async def test_more_than_100_inputs_are_400_and_nothing_is_written(fake: Harness) -> None:
    response = await fake.upsert(inputs(*(f"r{n}" for n in range(101))))
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"
    assert "101" in response.json()["message"]
    assert fake.app.records() == []


async def test_duplicate_ids_fail_the_whole_request_with_hubspots_message(fake: Harness) -> None:
    response = await fake.upsert(inputs("a", "b", "a", "c", "b", "d"))
    assert response.status_code == 400
    body = response.json()
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"] == "Duplicate IDs found in batch input: [a, b]. IDs must be unique"
    assert body["context"] == {"ids": ["a", "b"]}
    assert fake.app.records() == []


async def test_the_same_id_under_two_unique_properties_is_not_a_duplicate(
    make_fake: Callable[..., Harness],
) -> None:
    fake = make_fake(unique_properties=("external_id", "letter_ref"))
    body = inputs("a")
    body["inputs"] += inputs("a", id_property="letter_ref")["inputs"]
    assert (await fake.upsert(body)).status_code == 200


@pytest.mark.parametrize(
    ("id_property", "named"),
    [(None, "hs_object_id"), ("hs_object_id", "hs_object_id"), ("hs_timestamp", "hs_timestamp")],
    ids=["missing", "record-id", "not-unique"],
)
async def test_upserting_by_anything_but_a_unique_property_is_refused(
    fake: Harness, id_property: str | None, named: str
) -> None:
    body = inputs("a", "b")
    if id_property is None:
        del body["inputs"][1]["idProperty"]
    else:
        body["inputs"][1]["idProperty"] = id_property
    response = await fake.upsert(body)
    assert response.status_code == 400
    error = response.json()
    assert error["category"] == "VALIDATION_ERROR"
    assert error["message"] == (
        f"Unable to perform update/upsert by non-unique 0-116 property {named}"
    )
    assert fake.app.records() == []


async def test_any_configured_unique_property_can_be_the_id_property(
    make_fake: Callable[..., Harness],
) -> None:
    fake = make_fake(unique_properties=("letter_ref", "scan_id"))
    assert (await fake.upsert(inputs("a", id_property="letter_ref"))).status_code == 200
    assert (await fake.upsert(inputs("a", id_property="scan_id"))).status_code == 200
    refused = await fake.upsert(inputs("a"))  # external_id is not unique in this account
    assert refused.status_code == 400
    assert fake.app.find("scan_id", "a") is not None


async def test_an_empty_batch_is_answered_with_no_results(fake: Harness) -> None:
    response = await fake.upsert({"inputs": []})
    assert response.status_code == 200
    assert response.json()["results"] == []


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=8,
)
_INPUT = st.fixed_dictionaries(
    {"id": st.text(max_size=4) | _JSON, "properties": st.dictionaries(st.text(max_size=4), _JSON)},
    optional={"idProperty": st.text(max_size=4) | _JSON, "objectWriteTraceId": _JSON},
)
_VALID_INPUT = st.fixed_dictionaries(
    {"id": st.text(max_size=4), "properties": st.dictionaries(st.text(max_size=4), st.text())},
    optional={"idProperty": st.text(max_size=4), "objectWriteTraceId": st.text(max_size=4)},
)
# Mostly valid inputs with the odd broken one: near misses are where two checkers differ.
_BODIES = (
    st.fixed_dictionaries({"inputs": st.lists(_VALID_INPUT | _INPUT, max_size=3) | _JSON}) | _JSON
)


@given(body=_BODIES)
def test_the_fast_and_the_detailed_request_checks_agree(body: Any) -> None:
    """The fake answers most requests with the fast check alone; it must never differ."""
    detailed = not any(True for _ in spec.request_validator().iter_errors(body))
    assert spec.request_is_valid()(body) is detailed
