"""Which properties an input may write: HubSpot's documented postal-mail ones, the unique
properties and configured extras. Anything else is PROPERTY_DOESNT_EXIST."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hubspot_postal_mail.fake._config import DOCUMENTED_PROPERTIES
from tests.fake.conftest import Harness, inputs, traced


async def test_documented_postal_mail_properties_are_writable(fake: Harness) -> None:
    values = {name: f"value of {name}" for name in DOCUMENTED_PROPERTIES}
    response = await fake.upsert(inputs("a", **values))
    assert response.status_code == 200
    record = fake.app.find("external_id", "a")
    assert record is not None
    assert {name: record.properties[name] for name in values} == values


async def test_an_unknown_property_fails_with_property_doesnt_exist(fake: Harness) -> None:
    response = await fake.upsert(inputs("a", hs_postal_mail_body="x", colour="red"))
    assert response.status_code == 400
    body = response.json()
    assert body["category"] == "VALIDATION_ERROR"
    (detail,) = body["errors"]
    assert detail["code"] == "PROPERTY_DOESNT_EXIST"
    assert detail["context"]["propertyName"] == ["colour"]
    assert detail["context"]["id"] == ["a"]
    assert fake.app.records() == []


async def test_every_unknown_property_of_an_input_is_reported(fake: Harness) -> None:
    response = await fake.upsert(traced(inputs("a", colour="red", size="A4")))
    assert response.status_code == 207
    (error,) = response.json()["errors"]
    names = sorted(detail["context"]["propertyName"][0] for detail in error["errors"])
    assert names == ["colour", "size"]
    assert error["message"].startswith("Property values were not valid")


async def test_properties_added_with_extra_properties_are_writable(
    make_fake: Callable[..., Harness],
) -> None:
    fake = make_fake(extra_properties=("colour",))
    assert (await fake.upsert(inputs("a", colour="red"))).status_code == 200
    record = fake.app.find("external_id", "a")
    assert record is not None
    assert record.properties["colour"] == "red"


async def test_other_unique_properties_are_writable(make_fake: Callable[..., Harness]) -> None:
    fake = make_fake(unique_properties=("external_id", "letter_ref"))
    assert (await fake.upsert(inputs("a", letter_ref="L-1"))).status_code == 200
    found = fake.app.find("letter_ref", "L-1")
    assert found is not None
    assert found.properties["external_id"] == "a"


@pytest.mark.parametrize("name", ["hs_object_id", "hs_createdate", "hs_lastmodifieddate"])
async def test_hubspots_own_properties_are_read_only(fake: Harness, name: str) -> None:
    response = await fake.upsert(inputs("a", **{name: "1"}))
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "READ_ONLY_VALUE"
