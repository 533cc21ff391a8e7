"""upsert_all / aupsert_all: batching, mapping answers back to records, bisecting, ordering."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from hubspot_postal_mail_client.models import BatchResponseSimplePublicUpsertObject

from hubspot_postal_mail import (
    Outcome,
    Progress,
    RecordResult,
    RetryPolicy,
    aupsert_all,
    upsert_all,
)
from hubspot_postal_mail._constants import MAX_BATCH

from ._hub import BAD_MARK, Answer, MiniHub, rate_limited, serve, server_error
from .conftest import BASE_URL, TOKEN, UPSERT_URL

FAST = RetryPolicy(initial_wait=0.001, max_wait=0.002)
FAST_BUDGET = "100000/1"


def records(n: int, *, ids: int | None = None, start: int = 0) -> list[dict[str, str]]:
    """``n`` flat records; with ``ids`` fewer than ``n``, ids repeat across the input."""
    return [{"external_id": f"E{(i % ids) if ids else i}", "seq": str(i)} for i in range(start, n)]


def upsert(data: Any, **options: Any) -> Any:
    """``upsert_all`` keyed by external_id, against BASE_URL, with a budget that never waits."""
    settings: dict[str, Any] = {"base_url": BASE_URL, "rate_limit": FAST_BUDGET, **options}
    return upsert_all(data, id_property="external_id", token=TOKEN, **settings)


def run(hub: MiniHub, data: Any, **options: Any) -> tuple[Any, list[RecordResult]]:
    results: list[RecordResult] = []
    with respx.mock(assert_all_called=False) as mock:
        mock.post(UPSERT_URL).mock(side_effect=hub.handler())
        report = upsert(data, report=results.append, **{"retry_policy": FAST, **options})
    return report, results


def by_line(results: list[RecordResult]) -> dict[int, RecordResult]:
    lines = [r.line for r in results]
    assert len(lines) == len(set(lines)), "one report entry per record"
    return {r.line: r for r in results}


def test_chunks_of_at_most_100_with_distinct_ids() -> None:
    hub = MiniHub()
    report, results = run(hub, records(250))
    assert hub.batch_sizes
    assert max(hub.batch_sizes) <= MAX_BATCH
    assert sum(hub.batch_sizes) == 250
    assert (report.total, report.created, report.failed) == (250, 250, 0)
    assert report.requests == 3
    assert report.exit_status == 0
    assert set(by_line(results)) == set(range(1, 251))


def test_207_with_shuffled_results_maps_each_record() -> None:
    hub = MiniHub(bad_mode="partial", shuffle=True)
    data = records(60)
    for i in (5, 17, 42):
        data[i]["hs_postal_mail_body"] = BAD_MARK
    report, results = run(hub, data)
    entries = by_line(results)
    assert (report.created, report.failed) == (57, 3)
    for line, entry in entries.items():
        assert entry.id == f"E{line - 1}"
        if line - 1 in (5, 17, 42):
            assert entry.outcome is Outcome.FAILED
            assert entry.error is not None
            assert entry.error.category == "VALIDATION_ERROR"
            assert entry.error.message == f"bad value for record E{line - 1}"
            assert entry.error.status == 207
        else:
            assert entry.outcome is Outcome.CREATED
            assert entry.object_id == hub.object_ids[entry.id]
    assert report.exit_status == 1


def test_a_200_carrying_errors_is_mapped_like_a_207() -> None:
    hub = MiniHub(bad_mode="in200")
    data = records(10)
    data[3]["hs_postal_mail_body"] = BAD_MARK
    report, results = run(hub, data)
    entries = by_line(results)
    assert entries[4].outcome is Outcome.FAILED
    assert entries[4].error is not None
    assert entries[4].error.status == 200
    assert (report.created, report.failed) == (9, 1)


def test_results_without_trace_ids_are_mapped_by_id() -> None:
    hub = MiniHub()
    inner = hub.handler()

    def strip_trace_ids(request: httpx.Request) -> httpx.Response:
        response = inner(request)
        body = json.loads(response.content)
        for result in body.get("results", []):
            result.pop("objectWriteTraceId", None)
        return httpx.Response(response.status_code, json=body)

    results: list[RecordResult] = []
    with respx.mock() as mock:
        mock.post(UPSERT_URL).mock(side_effect=strip_trace_ids)
        upsert(
            records(30),
            report=results.append,
        )
    assert all(r.object_id == hub.object_ids[r.id or ""] for r in results)
    assert len(results) == 30


def test_a_plain_200_is_mapped_without_building_a_model_per_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("built a model for a plain answer")

    monkeypatch.setattr(BatchResponseSimplePublicUpsertObject, "from_dict", refuse)
    hub = MiniHub()
    report, results = run(hub, records(30))
    assert (report.created, report.failed) == (30, 0)
    assert all(r.object_id == hub.object_ids[r.id or ""] for r in results)


@pytest.mark.parametrize("missing", ["id", "properties"])
def test_results_of_another_shape_are_left_to_the_models(missing: str, tmp_path: Path) -> None:
    """A result without a field the models require: they refuse the answer, so nobody knows what
    was written; the records fail, but not finally: a rerun sends them again."""
    hub = MiniHub()
    inner = hub.handler()

    def reshape(request: httpx.Request) -> httpx.Response:
        response = inner(request)
        body = json.loads(response.content)
        for result in body["results"]:
            del result[missing]
        return httpx.Response(response.status_code, json=body)

    results: list[RecordResult] = []
    checkpoint = tmp_path / "checkpoint"
    with respx.mock() as mock:
        mock.post(UPSERT_URL).mock(side_effect=reshape)
        report = upsert(
            records(5),
            report=results.append,
            state=checkpoint,
        )
    assert {r.outcome for r in results} == {Outcome.FAILED}
    assert {r.error.category for r in results if r.error} == {"UNPARSABLE_RESPONSE"}
    assert report.failed == 5
    with respx.mock() as mock:
        mock.post(UPSERT_URL).mock(side_effect=inner)
        rerun = upsert(
            records(5),
            state=checkpoint,
        )
    assert (rerun.unchanged, rerun.updated) == (0, 5)  # written the first time, too


def test_updates_are_reported_as_updates() -> None:
    hub = MiniHub()
    run(hub, records(5))
    report, results = run(hub, records(5))
    assert report.updated == 5
    assert {r.outcome for r in results} == {Outcome.UPDATED}


def test_a_whole_batch_400_is_bisected_until_the_bad_records_stand_alone() -> None:
    hub = MiniHub(bad_mode="whole")
    data = records(100)
    bad = {7, 63}
    for i in bad:
        data[i]["hs_postal_mail_body"] = BAD_MARK
    report, results = run(hub, data)
    entries = by_line(results)
    assert (report.created, report.failed) == (98, 2)
    for i in bad:
        entry = entries[i + 1]
        assert entry.outcome is Outcome.FAILED
        assert entry.error is not None
        assert entry.error.message == "Property values were not valid"
    assert set(hub.store) == {f"E{i}" for i in range(100) if i not in bad}
    # Two bad records among 100: about 2*log2(100) requests, far fewer than one per record.
    assert report.requests <= 30


def test_the_good_half_of_a_split_batch_is_settled_before_the_split_ends() -> None:
    """A refused batch takes a level of answers per halving (seven for a 409 among 100). Its
    good half is reported and its ids let go at once, so the next lines of those ids are
    sent while the other half is still being split, not after it."""
    hub = MiniHub(bad_mode="whole", shuffle=False)
    data = records(16)
    data[15]["hs_postal_mail_body"] = BAD_MARK  # E15: four levels down
    data += records(20, start=16, ids=16)[:4]  # E0..E3 again
    for row in data[16:]:
        row["seq"] = f"again {row['seq']}"
    report, results = run(hub, data, batch_size=16, concurrency=2)
    assert (report.created + report.updated, report.failed) == (19, 1)
    order = [(key, values["seq"]) for key, values in hub.writes]
    assert order.index(("E0", "again 16")) < order.index(("E14", "14"))
    assert {r.line for r in results} == set(range(1, 21))


def test_a_400_that_names_its_inputs_drops_them_without_bisecting() -> None:
    hub = MiniHub()
    inner = hub.handler()
    first = True

    def refuse_named(request: httpx.Request) -> httpx.Response:
        nonlocal first
        if first:
            first = False
            body = {
                "status": "error",
                "category": "VALIDATION_ERROR",
                "message": "Duplicate IDs found in batch input: [E3]. IDs must be unique",
                "context": {"ids": ["E3"]},
            }
            return httpx.Response(400, json=body)
        return inner(request)

    results: list[RecordResult] = []
    with respx.mock() as mock:
        mock.post(UPSERT_URL).mock(side_effect=refuse_named)
        report = upsert(
            records(10),
            report=results.append,
        )
    assert report.requests == 2
    assert (report.created, report.failed) == (9, 1)
    assert by_line(results)[4].outcome is Outcome.FAILED


def test_same_id_never_twice_in_one_request_and_the_last_occurrence_wins() -> None:
    hub = MiniHub(delay_s=0.01)
    # Ids drawn at random from more than the read-ahead (2 * 10 * 8) holds: a record often
    # meets an earlier one with its id in flight, sometimes still pending.
    rng = random.Random(5)  # noqa: S311
    data = [{"external_id": f"E{rng.randrange(400)}", "seq": str(i)} for i in range(4000)]
    with serve(hub) as url:
        report = upsert(
            data,
            base_url=url,
            concurrency=8,
            batch_size=10,  # many small batches in flight at once
        )
    # The hub answers 400 to a request with a repeated id: none happened.
    assert report.failed == 0
    # Every occurrence was sent, in input order per id; none was coalesced away.
    assert (report.created, report.updated, report.skipped) == (400, 3600, 0)
    last = {r["external_id"]: r["seq"] for r in data}
    assert {k: v["seq"] for k, v in hub.store.items()} == last
    # Writes to one id happened in input order: no earlier record overtook a later one.
    per_id: dict[str, list[int]] = {}
    for key, props in hub.writes:
        per_id.setdefault(key, []).append(int(props["seq"]))
    assert all(seqs == sorted(seqs) for seqs in per_id.values())


def test_a_later_occurrence_hubspot_refuses_leaves_the_earlier_value_written() -> None:
    """As if sent one by one: the last accepted value stays, whatever the timing."""
    hub = MiniHub()
    data = [
        {"external_id": "A", "hs_postal_mail_body": "1"},
        {"external_id": "A", "hs_postal_mail_body": "2"},
        {"external_id": "A", "hs_postal_mail_body": BAD_MARK},
    ]
    report, results = run(hub, data)
    entries = by_line(results)
    assert [entries[n].outcome for n in (1, 2, 3)] == [
        Outcome.CREATED,
        Outcome.UPDATED,
        Outcome.FAILED,
    ]
    assert hub.store["A"]["hs_postal_mail_body"] == "2"
    assert (report.skipped, report.requests) == (0, 3)


def test_bad_input_records_are_reported_and_the_run_goes_on() -> None:
    hub = MiniHub()
    data: list[Any] = [
        {"external_id": "ok1", "x": "1"},
        {"x": "no id"},
        {"external_id": "  ", "x": "empty id"},
        {"external_id": "nested", "x": {"a": 1}},
        {"external_id": "list", "x": [1, 2]},
        "not a mapping",
        {"external_id": "ok2", "n": 3, "flag": True, "none": None},
    ]
    report, results = run(hub, data)
    entries = by_line(results)
    assert [entries[i].outcome for i in range(1, 8)] == [
        Outcome.CREATED,
        *[Outcome.FAILED] * 5,
        Outcome.CREATED,
    ]
    errors = {i: entries[i].error for i in range(2, 7)}
    reasons = {i: e.message for i, e in errors.items() if e is not None}
    assert "missing id" in reasons[2]
    assert "empty" in reasons[3]
    assert "not a scalar" in reasons[4]
    assert "not a scalar" in reasons[5]
    assert "mapping" in reasons[6]
    assert all(e is not None and e.category == "INVALID_INPUT" for e in errors.values())
    assert set(hub.store) == {"ok1", "ok2"}
    # None is not sent: a missing value must not clear what HubSpot holds.
    assert hub.store["ok2"] == {"external_id": "ok2", "n": "3", "flag": "true"}
    assert report.failed == 5


def test_api_shaped_records_and_generated_models_are_taken_as_they_are() -> None:
    from hubspot_postal_mail_client.models import SimplePublicObjectBatchInputUpsert

    hub = MiniHub()
    data: list[Any] = [
        {"id": "A", "properties": {"hs_postal_mail_body": "hello"}},
        {"id": "B", "idProperty": "external_id", "properties": {"x": "1"}},
        SimplePublicObjectBatchInputUpsert.from_dict({"id": "C", "properties": {"y": "2"}}),
        {"id": "D", "idProperty": "other_key", "properties": {}},
    ]
    report, results = run(hub, data)
    assert hub.store["A"] == {"hs_postal_mail_body": "hello"}
    assert set(hub.store) == {"A", "B", "C"}
    assert by_line(results)[4].outcome is Outcome.FAILED
    assert report.created == 3


def test_input_is_read_lazily() -> None:
    hub = MiniHub()
    read = 0
    read_at_first_request: list[int] = []
    inner = hub.handler()

    def observe(request: httpx.Request) -> httpx.Response:
        read_at_first_request.append(read)
        return inner(request)

    def endless() -> Iterator[dict[str, str]]:
        nonlocal read
        for i in range(1_000_000):
            read += 1
            if i >= 5000:
                return
            yield {"external_id": f"E{i}"}

    with respx.mock() as mock:
        mock.post(UPSERT_URL).mock(side_effect=observe)
        upsert(
            endless(),
            concurrency=2,
        )
    # A bounded read-ahead (2 * 100 * concurrency), not the whole input, before sending.
    assert read_at_first_request[0] <= 2 * MAX_BATCH * 2
    assert len(hub.store) == 5000


def test_a_daily_429_stops_the_run_and_leaves_the_rest_resumable(tmp_path: Path) -> None:
    hub = MiniHub()
    checkpoint = tmp_path / "run.ckpt"
    data = records(500)
    inner = hub.handler()
    calls = 0

    def daily_after_two(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls > 2:
            answer = rate_limited("DAILY")
            return httpx.Response(answer.status, json=answer.body)
        return inner(request)

    with respx.mock() as mock:
        mock.post(UPSERT_URL).mock(side_effect=daily_after_two)
        report = upsert(
            data,
            concurrency=1,
            state=checkpoint,
        )
    assert report.stopped is not None
    assert "daily" in report.stopped
    assert report.exit_status == 3
    assert report.created == 200
    assert report.unfinished > 0
    assert calls == 3  # stopped at once: no retry of a DAILY 429, no further batches

    # Tomorrow: the same input and state finish the rest, nothing written twice.
    report2, _ = run(hub, data, state=checkpoint)
    assert report2.unchanged == 200
    assert report2.created == 300
    assert set(hub.store) == {f"E{i}" for i in range(500)}
    assert report2.exit_status == 0


@pytest.mark.parametrize(
    ("status", "category"), [(401, "INVALID_AUTHENTICATION"), (403, "MISSING_SCOPES")]
)
def test_an_auth_failure_stops_the_run(status: int, category: str) -> None:
    hub = MiniHub(
        faults=[Answer(status, {"status": "error", "message": "no", "category": category})]
    )
    report, results = run(hub, records(300), concurrency=1)
    assert report.stopped is not None
    assert category in report.stopped
    assert report.exit_status == 3
    assert hub.requests == 1
    assert results == []  # nothing was decided about any record: all resumable


def test_exhausted_retries_fail_the_batch_and_a_rerun_sends_it_again(tmp_path: Path) -> None:
    checkpoint = tmp_path / "c.ckpt"
    hub = MiniHub(faults=[server_error(503)] * 3)
    policy = RetryPolicy(max_attempts=3, initial_wait=0.001, max_wait=0.001)
    results_list: list[RecordResult] = []
    with respx.mock() as mock:
        mock.post(UPSERT_URL).mock(side_effect=hub.handler())
        report = upsert(
            records(10),
            retry_policy=policy,
            state=checkpoint,
            report=results_list.append,
        )
    assert report.failed == 10
    assert {r.error.category for r in results_list if r.error} == {"SERVER_ERROR"}
    assert report.retries == 2
    report2, _ = run(hub, records(10), state=checkpoint)
    assert report2.created == 10
    assert report2.unchanged == 0


def test_transient_failures_and_drops_are_retried_to_success() -> None:
    hub = MiniHub(faults=[rate_limited(), "drop", server_error(500), server_error(504), "drop"])
    report, _ = run(hub, records(400, ids=150))
    assert report.failed == 0
    assert report.retries == 5
    assert report.rate_limited == 1
    last = {r["external_id"]: r["seq"] for r in records(400, ids=150)}
    assert {k: v["seq"] for k, v in hub.store.items()} == last


def test_progress_is_reported_as_batches_finish() -> None:
    hub = MiniHub(faults=[server_error(502)])
    seen: list[Progress] = []
    report, _ = run(hub, records(350), on_progress=seen.append, concurrency=1)
    done = [p.done for p in seen]
    assert done == sorted(done)
    assert done[-1] == 350
    assert seen[-1].created == 350
    assert max(p.retries for p in seen) == 1
    assert report.requests == seen[-1].requests == 5


async def test_aupsert_all_takes_an_async_iterable() -> None:
    hub = MiniHub()

    async def produce() -> Any:
        for i in range(120):
            await asyncio.sleep(0)
            yield {"external_id": f"A{i}"}

    with respx.mock() as mock:
        mock.post(UPSERT_URL).mock(side_effect=hub.handler())
        report = await aupsert_all(
            produce(), id_property="external_id", token=TOKEN, base_url=BASE_URL
        )
    assert report.created == 120


async def test_upsert_all_works_inside_a_running_event_loop() -> None:
    hub = MiniHub()
    with serve(hub) as url:
        report = upsert_all(records(5), id_property="external_id", token=TOKEN, base_url=url)
    assert report.created == 5


def test_report_file_is_json_lines(tmp_path: Path) -> None:
    hub = MiniHub()
    path = tmp_path / "report.jsonl"
    data: list[Any] = [*records(3), {"nope": 1}]
    with respx.mock() as mock:
        mock.post(UPSERT_URL).mock(side_effect=hub.handler())
        upsert_all(data, id_property="external_id", token=TOKEN, base_url=BASE_URL, report=path)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert sorted(e["line"] for e in lines) == [1, 2, 3, 4]
    bad = next(e for e in lines if e["line"] == 4)
    assert bad["outcome"] == "failed"
    assert bad["error"]["category"] == "INVALID_INPUT"
    good = next(e for e in lines if e["line"] == 1)
    assert good == {"line": 1, "id": "E0", "outcome": "created", "object_id": hub.object_ids["E0"]}


def test_bad_arguments_are_refused_before_anything_is_sent() -> None:
    with pytest.raises(TypeError, match="read_records"):
        upsert_all("file.csv", id_property="x", token=TOKEN, base_url=BASE_URL)
    with pytest.raises(ValueError, match="concurrency"):
        upsert_all([], id_property="x", token=TOKEN, base_url=BASE_URL, concurrency=0)
    with pytest.raises(ValueError, match="batch_size"):
        upsert_all([], id_property="x", token=TOKEN, base_url=BASE_URL, batch_size=101)


def test_a_later_record_settles_an_earlier_one_whose_retries_ran_out(tmp_path: Path) -> None:
    checkpoint = tmp_path / "c.ckpt"
    hub = MiniHub(faults=[server_error(503)] * 2)
    data = [
        {"external_id": "X", "v": "old"},
        {"external_id": "Y", "v": "y"},
        {"external_id": "X", "v": "new"},
    ]
    policy = RetryPolicy(max_attempts=2, initial_wait=0.001, max_wait=0.001)
    _, results = run(hub, data, state=checkpoint, concurrency=1, batch_size=1, retry_policy=policy)
    assert by_line(results)[1].outcome is Outcome.FAILED
    assert hub.store["X"]["v"] == "new"
    # A rerun may send the old value again, but never after the new one: the last line wins.
    report2, _ = run(hub, data, state=checkpoint, concurrency=1, batch_size=1)
    assert report2.unchanged == 1  # Y
    assert report2.requests == 2  # X old, then X new: the state holds only the last
    assert hub.store["X"]["v"] == "new"
