"""Create versus update: ``new``, object ids, timestamps, merged properties, shuffled results,
and the operation served at the pin's path."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from hubspot_postal_mail.fake import UPSERT_PATHS
from scripts import paths
from scripts.spec_io import load_document
from tests.fake.conftest import Harness, ManualClock, inputs


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


async def test_an_unknown_id_creates_and_a_known_one_updates(
    fake: Harness, clock: ManualClock
) -> None:
    first = (await fake.upsert(inputs("a", hs_postal_mail_body="v1"))).json()["results"][0]
    clock.advance(5)
    second = (await fake.upsert(inputs("a", hubspot_owner_id="7"))).json()["results"][0]
    assert first["new"] is True
    assert second["new"] is False
    assert second["id"] == first["id"]
    assert second["createdAt"] == first["createdAt"]
    assert _parse(second["updatedAt"]) > _parse(first["updatedAt"])
    assert second["properties"]["hs_postal_mail_body"] == "v1"  # kept from the first write
    assert second["properties"]["hubspot_owner_id"] == "7"
    assert second["properties"]["hs_object_id"] == first["id"]
    assert len(fake.app.records()) == 1


async def test_results_carry_hubspot_timestamps_and_object_ids(
    fake: Harness, clock: ManualClock
) -> None:
    body = (await fake.upsert(inputs("a", "b"))).json()
    assert body["status"] == "COMPLETE"
    assert body["startedAt"] == "2026-03-02T12:00:00.000Z"
    ids = {r["id"] for r in body["results"]}
    assert len(ids) == 2
    assert all(i.isdigit() for i in ids)
    assert all(r["archived"] is False for r in body["results"])


async def test_results_are_not_in_input_order(fake: Harness) -> None:
    ids = [f"r{n:03d}" for n in range(100)]
    body = (await fake.upsert(inputs(*ids))).json()
    returned = [r["properties"]["external_id"] for r in body["results"]]
    assert sorted(returned) == ids
    assert returned != ids


async def test_the_result_order_is_reproducible_with_a_seed(
    make_fake: Callable[..., Harness],
) -> None:
    ids = [f"r{n}" for n in range(20)]
    orders = []
    for _ in range(2):
        body = (await make_fake(seed=42).upsert(inputs(*ids))).json()
        orders.append([r["properties"]["external_id"] for r in body["results"]])
    assert orders[0] == orders[1]


async def test_trace_ids_come_back_on_results(fake: Harness) -> None:
    body = inputs("a")
    body["inputs"][0]["objectWriteTraceId"] = "row-17"
    result = (await fake.upsert(body)).json()["results"][0]
    assert result["objectWriteTraceId"] == "row-17"


async def test_the_fake_serves_the_path_of_the_pin_and_only_that(fake: Harness) -> None:
    (pinned_path,) = load_document(paths.PIN)["paths"]
    assert (pinned_path,) == UPSERT_PATHS
    created = (await fake.upsert(inputs("a"), path=pinned_path)).json()["results"][0]
    assert created["new"] is True
    elsewhere = await fake.upsert(inputs("a"), path=pinned_path.replace("/objects/", "/objx/"))
    assert elsewhere.status_code == 404


async def test_changing_a_unique_value_moves_the_record(
    make_fake: Callable[..., Harness],
) -> None:
    fake = make_fake(unique_properties=("external_id", "letter_ref"))
    await fake.upsert(inputs("a", letter_ref="L-1"))
    await fake.upsert(inputs("a", letter_ref="L-2"))
    assert fake.app.find("letter_ref", "L-1") is None
    moved = fake.app.find("letter_ref", "L-2")
    assert moved is not None
    assert moved.properties["external_id"] == "a"
    # The old value is free again for another record.
    assert (await fake.upsert(inputs("b", letter_ref="L-1"))).status_code == 200


async def test_reset_forgets_records_and_calls(fake: Harness) -> None:
    await fake.upsert(inputs("a"))
    assert len(fake.app.records()) == 1
    assert len(fake.app.calls()) == 1
    fake.app.reset()
    assert fake.app.records() == []
    assert fake.app.calls() == []
    assert (await fake.upsert(inputs("a"))).json()["results"][0]["new"] is True


async def test_control_routes_read_and_reset_records(fake: Harness) -> None:
    await fake.upsert(inputs("a", "b"))
    listed = (await fake.client.get("/_fake/records")).json()["results"]
    assert sorted(r["properties"]["external_id"] for r in listed) == ["a", "b"]
    assert (await fake.client.delete("/_fake/records")).status_code == 204
    assert fake.app.records() == []


async def test_unknown_paths_and_methods_get_json_errors(fake: Harness) -> None:
    missing = await fake.client.post("/crm/v3/objects/contacts/batch/upsert", json={})
    assert missing.status_code == 404
    assert missing.json()["status"] == "error"
    wrong = await fake.client.get(UPSERT_PATHS[0])
    assert wrong.status_code == 405
    assert wrong.json()["category"] == "VALIDATION_ERROR"
