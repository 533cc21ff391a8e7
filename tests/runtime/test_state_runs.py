"""Runs with a sync state: only what changed is sent, a stopped or killed run resumes whatever
the input is now, failures are retried, repeated ids keep last-line-wins."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from hubspot_postal_mail import (
    Outcome,
    Progress,
    RecordResult,
    RetryPolicy,
    StateError,
    StateLocked,
    UpsertSettings,
    aupsert_all,
    upsert_all,
)
from hubspot_postal_mail._dry_run import plan
from hubspot_postal_mail._readers import read_records
from hubspot_postal_mail._state import State

from ._hub import BAD_MARK, MiniHub, serve
from .conftest import BASE_URL, TOKEN, UPSERT_URL

FAST: dict[str, Any] = {"rate_limit": "100000/1", "batch_size": 10, "concurrency": 4}


def rows(n: int, *, ids: int | None = None, tag: str = "v") -> list[dict[str, str]]:
    return [
        {"external_id": f"E{i % ids if ids else i}", "hs_postal_mail_body": f"{tag}{i}"}
        for i in range(n)
    ]


def entries(state: Path, url: str) -> list[Any]:
    with State(state, base_url=url, id_property="external_id") as opened:
        return list(opened.entries())


def run(url: str, data: Any, state: Path, **options: Any) -> Any:
    return upsert_all(
        data, id_property="external_id", token=TOKEN, base_url=url, state=state, **FAST, **options
    )


def test_an_unchanged_rerun_sends_nothing_and_a_changed_record_alone_is_sent(
    tmp_path: Path,
) -> None:
    state = tmp_path / "s.state"
    hub = MiniHub(shuffle=False)
    data = rows(500)
    with serve(hub) as url:
        first = run(url, data, state)
        sent = hub.requests
        again = run(url, data, state)
        assert (again.requests, again.unchanged, again.created + again.updated) == (0, 500, 0)
        data[7]["hs_postal_mail_body"] = "changed"
        data[300]["hs_postal_mail_body"] = "changed too"
        changed = run(url, data, state)
    assert first.created == 500
    assert sent == 50
    assert (changed.updated, changed.unchanged, changed.requests) == (2, 498, 1)
    assert hub.store["E7"]["hs_postal_mail_body"] == "changed"


def test_unchanged_report_lines_carry_the_object_id_hubspot_gave(tmp_path: Path) -> None:
    state = tmp_path / "s.state"
    first: list[RecordResult] = []
    again: list[RecordResult] = []
    with serve(MiniHub()) as url:
        run(url, rows(30), state, report=first.append)
        summary = run(url, rows(30), state, report=again.append)
    assert summary.unchanged == 30
    assert [(r.line, r.id, r.outcome) for r in again] == [
        (n + 1, f"E{n}", Outcome.UNCHANGED) for n in range(30)
    ]
    given = {r.id: r.object_id for r in first}
    assert None not in given.values()
    assert {r.id: r.object_id for r in again} == given


def test_lone_surrogates_fail_their_records_alone_and_the_rest_is_written(
    tmp_path: Path,
) -> None:
    """A lone surrogate cannot be sent as UTF-8 nor kept in the state: it used to crash the
    whole run (UnicodeEncodeError); now its record fails, by line, and the others go on."""
    path = tmp_path / "in.jsonl"
    path.write_text(
        '{"external_id": "E1", "hs_postal_mail_body": "a"}\n'
        '{"external_id": "E2\\ud800", "hs_postal_mail_body": "b"}\n'
        '{"external_id": "E3", "hs_postal_mail_body": "c\\udc00"}\n'
        '{"external_id": "E4", "hs_postal_mail_body": "d", "n": 4}\n'
    )
    dicts = [
        {"external_id": "P1\udc80", "hs_postal_mail_body": "x"},  # surrogateescape'd bytes
        {"external_id": "P2", "hs_postal_mail_body": "y\ud800"},
        {"external_id": "P3", "b\udfff": "z"},
        {"external_id": "P4", "hs_postal_mail_body": "w"},
    ]
    state = tmp_path / "s.state"
    hub = MiniHub()
    failures: list[RecordResult] = []
    with serve(hub) as url:
        from_file = run(url, read_records(path, id_property="external_id"), state)
        from_python = run(url, dicts, state, report=failures.append)
        again = run(url, read_records(path, id_property="external_id"), state)
    assert (from_file.created, from_file.failed) == (2, 2)
    assert (from_python.created, from_python.failed) == (1, 3)
    assert set(hub.store) == {"E1", "E4", "P4"}
    messages = {r.line: r.error.message for r in failures if r.error is not None}
    assert (
        messages[1] == "the id holds a lone surrogate ('\\udc80' at character 3), which is not text"
    )
    assert messages[2].startswith("column 'hs_postal_mail_body' holds a lone surrogate")
    assert messages[3].startswith("property name 'b\\udfff' holds a lone surrogate")
    assert (again.unchanged, again.failed, again.requests) == (2, 2, 0)


def test_a_dry_run_with_the_state_says_what_a_run_would_do_and_changes_nothing(
    tmp_path: Path,
) -> None:
    state = tmp_path / "s.state"
    hub = MiniHub()
    with serve(hub) as url:
        run(url, rows(4), state)
        before = entries(state, url)
        requests = hub.requests
        data = [
            *rows(2),  # E0, E1 as confirmed
            {"external_id": "E2", "hs_postal_mail_body": "edited"},
            {"external_id": "N1", "hs_postal_mail_body": "new"},
            {"external_id": "N1", "hs_postal_mail_body": "newer"},  # updates what N1 made
            {"hs_postal_mail_body": "no id"},
        ]
        lines: list[RecordResult] = []
        settings = UpsertSettings(
            id_property="external_id", base_url=url, state=state, dry_run=True, report=lines.append
        )
        planned = plan(data, settings)
        after = entries(state, url)
    assert hub.requests == requests
    assert after == before
    assert (planned.would_create, planned.would_update, planned.would_send) == (1, 2, 3)
    assert (planned.report.unchanged, planned.report.failed) == (2, 1)
    outcomes = {(r.line, r.outcome) for r in lines}
    assert outcomes == {
        (1, Outcome.UNCHANGED),
        (2, Outcome.UNCHANGED),
        (3, Outcome.SKIPPED),
        (4, Outcome.SKIPPED),
        (5, Outcome.SKIPPED),
        (6, Outcome.FAILED),
    }
    confirmed = {key: entry.object_id for key, entry in before}
    assert {r.id: r.object_id for r in lines if r.outcome is Outcome.UNCHANGED} == {
        "E0": confirmed["E0"],
        "E1": confirmed["E1"],
    }


def test_full_sends_everything_and_refreshes_the_state(tmp_path: Path) -> None:
    state = tmp_path / "s.state"
    hub = MiniHub()
    with serve(hub) as url:
        run(url, rows(100), state)
        full = run(url, rows(100), state, full=True)
        again = run(url, rows(100), state)
    assert (full.updated, full.unchanged) == (100, 0)
    assert (again.unchanged, again.requests) == (100, 0)


def test_another_file_with_the_same_state_sends_what_differs_and_skips_nothing_silently(
    tmp_path: Path,
) -> None:
    """The old position checkpoint skipped b.jsonl's records because a.jsonl had finished."""
    state = tmp_path / "s.state"
    hub = MiniHub()
    with serve(hub) as url:
        run(url, rows(300), state)
        other = run(url, rows(300, tag="w"), state)
    assert (other.updated, other.unchanged) == (300, 0)
    assert hub.store["E5"]["hs_postal_mail_body"] == "w5"


def test_failed_records_are_never_confirmed_so_a_rerun_retries_them(tmp_path: Path) -> None:
    state = tmp_path / "s.state"
    data = rows(200)
    data[3]["hs_postal_mail_body"] = BAD_MARK
    hub = MiniHub()
    with serve(hub) as url:
        first = run(url, data, state)
        rerun = run(url, data, state)
        data[3]["hs_postal_mail_body"] = "fixed"
        fixed = run(url, data, state)
    assert (first.failed, first.exit_status) == (1, 1)
    assert (rerun.failed, rerun.unchanged, rerun.exit_status) == (1, 199, 1)
    assert (fixed.created, fixed.unchanged, fixed.exit_status) == (1, 199, 0)


def test_repeated_ids_last_line_wins_and_an_unchanged_rerun_sends_only_changing_ids(
    tmp_path: Path,
) -> None:
    state = tmp_path / "s.state"
    same = [{"external_id": "SAME", "v": "1"}] * 3  # identical lines
    flip = [{"external_id": "FLIP", "v": "a"}, {"external_id": "FLIP", "v": "b"}]
    data = [*same, *flip]
    hub = MiniHub()
    with serve(hub) as url:
        run(url, data, state)
        rerun = run(url, data, state)
    assert hub.store["FLIP"]["v"] == "b"
    assert hub.store["SAME"]["v"] == "1"
    assert rerun.unchanged == 3  # SAME: every line equals what HubSpot holds
    assert rerun.updated == 2  # FLIP: a then b, both sent, b last


def test_a_state_of_another_base_url_or_id_property_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "s.state"
    hub = MiniHub()
    with serve(hub) as url:
        run(url, rows(10), state)
        with pytest.raises(StateError, match="external_id"):
            upsert_all(
                rows(10), id_property="other", token=TOKEN, base_url=url, state=state, **FAST
            )
        with pytest.raises(StateError, match=r"api\.example\.test"):
            upsert_all(
                rows(10),
                id_property="external_id",
                token=TOKEN,
                base_url="https://api.example.test",
                state=state,
                **FAST,
            )


def test_two_runs_on_one_state_at_once_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.state"
    hub = MiniHub()
    with (
        serve(hub) as url,
        State(path, base_url=url, id_property="external_id"),
        pytest.raises(StateLocked, match="another run"),
    ):
        run(url, rows(10), path)
    assert hub.requests == 0


async def test_an_interrupted_run_resumes_with_only_what_was_not_confirmed(
    tmp_path: Path,
) -> None:
    state = tmp_path / "s.state"
    data = rows(1500, ids=300)
    hub = MiniHub(delay_s=0.01)
    half = asyncio.Event()

    def watch(progress: Progress) -> None:
        if progress.done >= 500:
            half.set()

    options: dict[str, Any] = {"id_property": "external_id", "token": TOKEN, "state": state}
    with serve(hub) as url:
        task = asyncio.ensure_future(
            aupsert_all(data, base_url=url, on_progress=watch, **options, **FAST)
        )
        await half.wait()
        task.cancel()  # what Ctrl+C twice does to the CLI's event loop
        with pytest.raises(asyncio.CancelledError):
            await task
        before = len(hub.writes)
        assert before < 1500
        final = await aupsert_all(data, base_url=url, **options, **FAST)
    assert final.stopped is None
    last = {row["external_id"]: row["hs_postal_mail_body"] for row in data}
    assert {k: v["hs_postal_mail_body"] for k, v in hub.store.items()} == last


CHILD = """
import sys
from hubspot_postal_mail import upsert_all
from hubspot_postal_mail._dry_run import plan
from hubspot_postal_mail._readers import read_records
upsert_all(
    read_records(sys.argv[1]), id_property="external_id", base_url=sys.argv[2],
    state=sys.argv[3], report=sys.argv[4], concurrency=4, batch_size=10,
    rate_limit="100000/1",
)
"""


def write_input(path: Path, n: int, ids: int) -> list[dict[str, str]]:
    data: list[dict[str, str]] = []
    with path.open("w") as f:
        for i in range(n):
            if i % 97 == 50:
                f.write("{not json\n")
                data.append({})
                continue
            row = {"external_id": f"E{i % ids}", "seq": str(i)}
            if i % 211 == 7:
                row["hs_postal_mail_body"] = BAD_MARK
            f.write(json.dumps(row) + "\n")
            data.append(row)
    return data


def test_killed_again_and_again_then_rerun_nothing_is_lost_and_nothing_is_stale(
    tmp_path: Path,
) -> None:
    """SIGKILL at random moments, several times over, then a run to the end: every id holds
    its last valid line's value, and the final run's report has every line."""
    source, state, report = tmp_path / "in.jsonl", tmp_path / "s.state", tmp_path / "r.jsonl"
    data = write_input(source, 3000, ids=900)
    hub = MiniHub(delay_s=0.02)
    rng = random.Random(3)  # noqa: S311 - when to kill
    kills = 0
    with serve(hub) as url:
        env = {**os.environ, "HUBSPOT_ACCESS_TOKEN": TOKEN}
        for _ in range(5):
            child = subprocess.Popen(  # noqa: S603 - our own interpreter and script
                [sys.executable, "-c", CHILD, str(source), url, str(state), str(report)], env=env
            )
            try:
                time.sleep(0.6 + rng.uniform(0, 0.8))
                if child.poll() is None:
                    child.send_signal(signal.SIGKILL)
                    kills += 1
            finally:
                child.wait(10)
        final = upsert_all(
            read_records(source),
            id_property="external_id",
            token=TOKEN,
            base_url=url,
            state=state,
            report=report,
            **FAST,
        )
    assert kills >= 3, "the runs ended before they could be killed"
    assert final.stopped is None
    last: dict[str, str] = {}
    for row in data:
        if row and row.get("hs_postal_mail_body") != BAD_MARK:
            last[row["external_id"]] = row["seq"]
    stored = {k: v["seq"] for k, v in hub.store.items()}
    lost = set(last) - set(stored)
    wrong = {k for k in last if k in stored and stored[k] != last[k]}
    print(f"kills {kills}, records lost {len(lost)}, wrong final values {len(wrong)}")
    assert (lost, wrong) == (set(), set())
    outcomes: dict[int, RecordResult | dict[str, Any]] = {}
    for text in report.read_text().splitlines():
        entry = json.loads(text)
        outcomes[int(entry["line"])] = entry
    assert set(outcomes) == set(range(1, 3001))
    expected_failed = {i + 1 for i, row in enumerate(data) if not row or BAD_MARK in row.values()}
    failed = {line for line, e in outcomes.items() if e["outcome"] == str(Outcome.FAILED)}  # type: ignore[index]
    assert failed == expected_failed


def test_a_record_whose_answer_was_lost_is_not_taken_for_unchanged_later(tmp_path: Path) -> None:
    """HubSpot applied B but the answer never came; the input goes back to A: A must be sent,
    because HubSpot may hold B (the state forgets an id before sending it)."""
    state = tmp_path / "s.state"
    hub = MiniHub()
    handler = hub.handler()
    lose_answers = [False]

    def respond(request: httpx.Request) -> httpx.Response:
        response = handler(request)  # applied
        if lose_answers[0]:
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response

    a = [{"external_id": "X", "v": "A"}]
    b = [{"external_id": "X", "v": "B"}]
    options: dict[str, Any] = {
        "id_property": "external_id",
        "token": TOKEN,
        "base_url": BASE_URL,
        "state": state,
        "retry_policy": RetryPolicy(max_attempts=2, initial_wait=0.001, max_wait=0.002),
    }
    with respx.mock() as mock:
        mock.post(UPSERT_URL).mock(side_effect=respond)
        upsert_all(a, **options)
        lose_answers[0] = True
        lost = upsert_all(b, **options)
        lose_answers[0] = False
        back = upsert_all(a, **options)
    assert lost.failed == 1
    assert hub.store["X"]["v"] == "A"
    assert (back.unchanged, back.updated) == (0, 1)
