"""Inputs that fail while others succeed: a 207 pointing back through objectWriteTraceId when
every input has one, otherwise a 400 for the whole request with nothing written."""

from __future__ import annotations

from collections.abc import Callable

from tests.fake.conftest import Harness, inputs, traced


def _mixed() -> dict[str, list[dict[str, object]]]:
    """Two good inputs around one with an unknown property."""
    body = inputs("good-1", "bad", "good-2", hs_postal_mail_body="hello")
    body["inputs"][1]["properties"] = {"no_such_property": "x"}
    return body


async def test_with_trace_ids_good_inputs_are_written_and_bad_ones_listed(fake: Harness) -> None:
    response = await fake.upsert(traced(_mixed()))
    assert response.status_code == 207
    body = response.json()
    assert body["status"] == "COMPLETE"
    assert sorted(r["objectWriteTraceId"] for r in body["results"]) == ["trace-0", "trace-2"]
    assert body["numErrors"] == 1
    (error,) = body["errors"]
    assert error["context"]["objectWriteTraceId"] == ["trace-1"]
    assert error["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST"
    assert error["category"] == "VALIDATION_ERROR"
    stored = sorted(r.properties["external_id"] for r in fake.app.records())
    assert stored == ["good-1", "good-2"]


async def test_without_trace_ids_one_bad_input_fails_the_request(fake: Harness) -> None:
    response = await fake.upsert(_mixed())
    assert response.status_code == 400
    assert response.json()["errors"][0]["context"]["id"] == ["bad"]
    assert fake.app.records() == []


async def test_trace_ids_on_only_some_inputs_still_fail_the_request(fake: Harness) -> None:
    body = traced(_mixed())
    del body["inputs"][0]["objectWriteTraceId"]
    assert (await fake.upsert(body)).status_code == 400
    assert fake.app.records() == []


async def test_repeated_trace_ids_cannot_point_back_and_fail_the_request(fake: Harness) -> None:
    body = traced(_mixed())
    body["inputs"][2]["objectWriteTraceId"] = body["inputs"][1]["objectWriteTraceId"]
    assert (await fake.upsert(body)).status_code == 400
    assert fake.app.records() == []


async def test_when_every_input_fails_the_answer_is_207_with_no_results(fake: Harness) -> None:
    response = await fake.upsert(traced(inputs("a", "b", unknown="x")))
    assert response.status_code == 207
    assert response.json()["results"] == []
    assert response.json()["numErrors"] == 2


async def test_partial_status_200_reproduces_the_2025_contract(
    make_fake: Callable[..., Harness],
) -> None:
    fake = make_fake(partial_status=200)
    response = await fake.upsert(traced(_mixed()))
    assert response.status_code == 200
    body = response.json()
    assert body["numErrors"] == 1
    assert body["errors"][0]["context"]["objectWriteTraceId"] == ["trace-1"]
