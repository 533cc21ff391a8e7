"""Unique values held by another record: HubSpot refuses the whole batch with 409 CONFLICT and
writes nothing (the default); ``conflict_mode="per-input"`` fails only the conflicting input."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from hubspot_postal_mail.fake import ConfigError, FakeConfig
from hubspot_postal_mail.fake._store import Conflict, RecordStore, UniqueValueTaken, Write
from tests.fake.conftest import Harness, inputs, traced

UNIQUE = ("external_id", "letter_ref")


@pytest.fixture
def held(make_fake: Callable[..., Harness]) -> Callable[..., Harness]:
    """``held(**options)``: a fake where record ``a`` (id 90000000001) holds letter_ref L-1."""

    def make(**options: object) -> Harness:
        return make_fake(unique_properties=UNIQUE, **options)

    return make


async def _with_a_holding_l1(fake: Harness) -> str:
    response = await fake.upsert(inputs("a", letter_ref="L-1", hs_postal_mail_body="first"))
    assert response.status_code == 200
    return str(response.json()["results"][0]["id"])


async def _second_of_three_takes_l1(fake: Harness) -> tuple[str, httpx.Response]:
    """Record ``a`` holds L-1; then a traced batch b, c, d in which ``c`` sets L-1 too."""
    existing = await _with_a_holding_l1(fake)
    body = traced(inputs("b", "c", "d"))
    body["inputs"][1]["properties"] = {"letter_ref": "L-1"}
    return existing, await fake.upsert(body)


async def test_a_unique_value_held_by_another_record_fails_the_whole_batch_with_409(
    held: Callable[..., Harness],
) -> None:
    fake = held()
    existing, response = await _second_of_three_takes_l1(fake)
    assert response.status_code == 409
    refusal = response.json()
    assert refusal["status"] == "error"
    assert refusal["category"] == "CONFLICT"
    assert refusal["message"].endswith(f"already exists. Existing ID: {existing}")
    assert refusal["correlationId"]
    assert "trace-1" not in response.text  # HubSpot names the existing record, not the input
    assert [r.properties["external_id"] for r in fake.app.records()] == ["a"]


async def test_a_conflicting_batch_without_trace_ids_is_409_too(
    held: Callable[..., Harness],
) -> None:
    fake = held()
    await _with_a_holding_l1(fake)
    response = await fake.upsert(inputs("b", letter_ref="L-1"))
    assert response.status_code == 409
    assert response.json()["category"] == "CONFLICT"
    assert fake.app.find("external_id", "b") is None


async def test_two_inputs_of_one_batch_claiming_one_unique_value_are_409(
    held: Callable[..., Harness],
) -> None:
    fake = held()
    response = await fake.upsert(traced(inputs("a", "b", letter_ref="L-9")))
    assert response.status_code == 409
    assert response.json()["category"] == "CONFLICT"
    assert fake.app.records() == []


async def test_once_the_conflicting_input_is_alone_the_rest_is_written(
    held: Callable[..., Harness],
) -> None:
    fake = held()
    existing = await _with_a_holding_l1(fake)
    assert (await fake.upsert(inputs("c", "d"))).status_code == 200
    alone = await fake.upsert(inputs("b", letter_ref="L-1"))
    assert alone.status_code == 409
    assert alone.json()["message"].endswith(f"Existing ID: {existing}")


async def test_a_record_keeping_its_own_unique_value_is_no_conflict(
    held: Callable[..., Harness],
) -> None:
    fake = held()
    await _with_a_holding_l1(fake)
    by_external_id = await fake.upsert(inputs("a", letter_ref="L-1", hs_postal_mail_body="2"))
    by_letter_ref = await fake.upsert(inputs("L-1", id_property="letter_ref", external_id="a"))
    assert (by_external_id.status_code, by_letter_ref.status_code) == (200, 200)
    assert len(fake.app.records()) == 1


async def test_upserting_by_one_unique_property_into_anothers_held_value_conflicts(
    held: Callable[..., Harness],
) -> None:
    fake = held()
    existing = await _with_a_holding_l1(fake)
    response = await fake.upsert(inputs("L-2", id_property="letter_ref", external_id="a"))
    assert response.status_code == 409
    assert response.json()["message"].endswith(f"Existing ID: {existing}")
    assert fake.app.find("letter_ref", "L-2") is None


async def test_invalid_properties_are_refused_before_conflicts_are_looked_for(
    held: Callable[..., Harness],
) -> None:
    fake = held()
    await _with_a_holding_l1(fake)
    body = inputs("b", "c", letter_ref="L-1")
    body["inputs"][1]["properties"] = {"colour": "red"}
    response = await fake.upsert(body)
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"


async def test_per_input_mode_fails_only_the_conflicting_input_in_a_207(
    held: Callable[..., Harness],
) -> None:
    fake = held(conflict_mode="per-input")
    existing, response = await _second_of_three_takes_l1(fake)
    assert response.status_code == 207
    result = response.json()
    (error,) = result["errors"]
    assert error["category"] == "CONFLICT"
    assert error["context"]["objectWriteTraceId"] == ["trace-1"]
    assert error["message"].endswith(f"Existing ID: {existing}")
    assert sorted(r["objectWriteTraceId"] for r in result["results"]) == ["trace-0", "trace-2"]
    assert fake.app.find("external_id", "c") is None
    assert fake.app.find("external_id", "d") is not None


async def test_per_input_mode_fails_the_second_of_two_inputs_claiming_one_value(
    held: Callable[..., Harness],
) -> None:
    fake = held(conflict_mode="per-input")
    response = await fake.upsert(traced(inputs("a", "b", letter_ref="L-1")))
    assert response.status_code == 207
    body = response.json()
    assert [r["objectWriteTraceId"] for r in body["results"]] == ["trace-0"]
    assert body["errors"][0]["context"]["objectWriteTraceId"] == ["trace-1"]
    assert body["errors"][0]["category"] == "CONFLICT"


async def test_per_input_mode_without_trace_ids_is_a_409_naming_the_inputs(
    held: Callable[..., Harness],
) -> None:
    fake = held(conflict_mode="per-input")
    await _with_a_holding_l1(fake)
    body = inputs("b", "c")
    body["inputs"][1]["properties"] = {"letter_ref": "L-1"}
    response = await fake.upsert(body)
    assert response.status_code == 409
    refusal = response.json()
    assert refusal["category"] == "CONFLICT"
    assert [e["context"]["id"] for e in refusal["errors"]] == [["c"]]
    assert fake.app.find("external_id", "b") is None


def _failed_traces(body: dict[str, Any]) -> set[str]:
    return {error["context"]["objectWriteTraceId"][0] for error in body["errors"]}


async def test_a_conflict_share_of_ids_always_conflicts_with_an_archived_record(
    make_fake: Callable[..., Harness],
) -> None:
    fake = make_fake(conflict_share=0.2, conflict_mode="per-input", seed=3)
    ids = [f"PM-{n}" for n in range(100)]
    first = (await fake.upsert(traced(inputs(*ids)))).json()
    conflicting = _failed_traces(first)
    assert 10 <= len(conflicting) <= 30
    assert {e["category"] for e in first["errors"]} == {"CONFLICT"}
    assert all("already exists. Existing ID: 8" in e["message"] for e in first["errors"])
    again = (await fake.upsert(traced(inputs(*ids)))).json()
    assert _failed_traces(again) == conflicting
    assert len(fake.app.records()) == 100 - len(conflicting)
    other_seed = make_fake(conflict_share=0.2, conflict_mode="per-input", seed=4)
    moved = (await other_seed.upsert(traced(inputs(*ids)))).json()
    assert _failed_traces(moved) != conflicting


async def test_one_conflict_share_id_in_a_batch_is_a_409_for_all(
    make_fake: Callable[..., Harness],
) -> None:
    fake = make_fake(conflict_share=0.05, seed=3)
    response = await fake.upsert(inputs(*(f"PM-{n}" for n in range(100))))
    assert response.status_code == 409
    assert fake.app.records() == []


def test_the_store_never_gives_a_unique_value_to_a_second_record() -> None:
    store = RecordStore(UNIQUE, 1)
    now = datetime(2026, 3, 2, tzinfo=UTC)
    store.upsert([Write("external_id", "a", {"letter_ref": "L-1"})], now)
    batch = [Write("external_id", "b", {}), Write("external_id", "c", {"letter_ref": "L-1"})]
    assert store.conflicts(batch) == {1: Conflict("letter_ref", "L-1", "1")}
    with pytest.raises(UniqueValueTaken):
        store.upsert(batch, now)
    assert [r.properties["external_id"] for r in store.records()] == ["a"]


def test_an_unknown_conflict_mode_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="conflict mode"):
        FakeConfig(conflict_mode="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="conflict share"):
        FakeConfig(conflict_share=1.5)
