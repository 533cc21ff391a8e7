"""Exit status 3 (a daily limit, an auth failure, Ctrl+C) leaves a sync state that a rerun
resumes from; so does SIGKILL. The interrupted runs are real ``postal-mail`` processes."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hubspot_postal_mail import StateError
from hubspot_postal_mail._state import State
from hubspot_postal_mail.fake import FakeConfig, FakeHubSpot, RunningFake, serve_in_thread

from .conftest import (
    POSTAL_MAIL,
    TOKEN,
    Factory,
    body,
    invoke,
    read_report,
    upsert_args,
    write_jsonl,
)


def numbered(n: int, *, ids: int) -> list[Mapping[str, Any] | str]:
    """``n`` records over ``ids`` distinct ids (later lines overwrite earlier ones), with a
    malformed line and a record HubSpot refuses now and then."""
    data: list[Mapping[str, Any] | str] = []
    for i in range(n):
        if i % 173 == 100:
            data.append("{broken")
        elif i % 211 == 7:
            data.append({"external_id": f"BAD-{i}", "not_a_property": "x"})  # an id of its own
        else:
            data.append({"external_id": f"K-{i % ids}", "hs_postal_mail_body": f"line {i + 1}"})
    return data


def last_values(data: list[Mapping[str, Any] | str]) -> dict[str, str]:
    """What the fake must hold in the end: each id's last valid value."""
    last: dict[str, str] = {}
    for row in data:
        if isinstance(row, Mapping) and "not_a_property" not in row:
            last[row["external_id"]] = row["hs_postal_mail_body"]
    return last


def expected_failures(data: list[Mapping[str, Any] | str]) -> set[int]:
    return {
        n for n, row in enumerate(data, start=1) if isinstance(row, str) or "not_a_property" in row
    }


def assert_all_settled(
    fake: RunningFake, data: list[Mapping[str, Any] | str], report: Path
) -> dict[int, list[dict[str, Any]]]:
    """Every line has an outcome (its last entry), failures are the bad lines, and the fake
    holds the last value of every id. Returns every entry per line."""
    entries: dict[int, list[dict[str, Any]]] = {}
    for entry in read_report(report):
        entries.setdefault(int(entry["line"]), []).append(entry)
    assert set(entries) == set(range(1, len(data) + 1))
    failed = {line for line, e in entries.items() if e[-1]["outcome"] == "failed"}
    assert failed == expected_failures(data)
    for line, found in entries.items():
        if line not in failed:
            assert found[-1]["outcome"] in ("created", "updated", "unchanged")
    last = last_values(data)
    assert {k: body(fake, k) for k in last} == last
    assert len(fake.app.records()) == len(last)
    return entries


class Day:
    """The fake's wall clock, moved a day at a time."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_a_daily_limit_exits_3_and_the_next_day_a_rerun_resumes(tmp_path: Path) -> None:
    day = Day()
    data = numbered(500, ids=450)
    source = write_jsonl(tmp_path / "mail.jsonl", data)
    report, ckpt = tmp_path / "r.jsonl", tmp_path / "c.state"
    app = FakeHubSpot(FakeConfig(daily_limit=4), now=day)
    with serve_in_thread(app) as fake:
        args = upsert_args(source, fake, "--report", str(report), "--state", str(ckpt))
        first = invoke([*args, "--concurrency", "1", "--json"])
        assert first.exit_code == 3, first.all_output
        summary = json.loads(first.stdout)
        assert summary["stopped"].startswith("daily request limit reached")
        assert summary["requests"] == 5  # four allowed, the fifth refused and not retried
        assert f"the state {ckpt} is saved" in first.stderr
        written = len(app.records())
        assert 0 < written < 450

        day.now += timedelta(days=1)
        second = invoke([*args, "--json"])
        assert second.exit_code == 1, second.all_output  # the bad lines failed
        resumed = json.loads(second.stdout)
        assert resumed["unchanged"] > 0  # what the first day wrote is not sent again
        assert resumed["stopped"] is None
        assert_all_settled(fake, data, report)


@pytest.mark.parametrize("refusal", ["wrong token", "expired token"])
def test_an_auth_failure_exits_3_and_a_rerun_with_a_good_token_finishes(
    hubspot_fake_factory: Factory, tmp_path: Path, refusal: str
) -> None:
    fake = hubspot_fake_factory(tokens={TOKEN: None}, expired_tokens=frozenset({"pat-old"}))
    data = numbered(300, ids=300)
    source = write_jsonl(tmp_path / "mail.jsonl", data)
    report, ckpt = tmp_path / "r.jsonl", tmp_path / "c.state"
    args = upsert_args(source, fake, "--report", str(report), "--state", str(ckpt))
    bad = "pat-na1-not-this-one" if refusal == "wrong token" else "pat-old"
    refused = invoke(args, token=bad)
    assert refused.exit_code == 3
    assert "not authorised (HTTP 401" in refused.stderr
    assert fake.app.records() == []
    assert invoke(args).exit_code == 1
    assert_all_settled(fake, data, report)


@contextmanager
def upsert_process(args: list[str]) -> Iterator[subprocess.Popen[str]]:
    """``postal-mail ARGS`` as a real process, killed if the test leaves it running."""
    env = {**os.environ, "HUBSPOT_ACCESS_TOKEN": TOKEN}
    env.pop("HUBSPOT_BASE_URL", None)
    process = subprocess.Popen(  # noqa: S603 - our own entry point
        [POSTAL_MAIL, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


def confirmed(path: Path, base_url: str) -> int:
    """Ids the state holds (read only: the run may hold its lock)."""
    if not path.exists():
        return 0
    try:
        with State(path, base_url=base_url, id_property="external_id", readonly=True) as state:
            return state.summary().ids
    except StateError:  # the run is creating it right now
        return 0


def wait_for_batches(
    ckpt: Path, process: subprocess.Popen[str], batches: int, base_url: str
) -> None:
    """Until the state holds ``batches`` batches' worth of ids (the run is under way)."""
    deadline = time.monotonic() + 60
    while confirmed(ckpt, base_url) < 100 * batches:
        assert process.poll() is None, "the run ended before it could be interrupted"
        assert time.monotonic() < deadline, "the run did not get going"
        time.sleep(0.01)


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_exits_3_with_a_checkpoint_that_a_rerun_resumes(
    hubspot_fake_factory: Factory, tmp_path: Path, presses: int
) -> None:
    # Slow answers keep requests in flight when Ctrl+C comes.
    fake = hubspot_fake_factory(rate_limit=(4, 1.0), latency_seconds=0.4)
    data = numbered(800, ids=600)
    source = write_jsonl(tmp_path / "mail.jsonl", data)
    report, ckpt = tmp_path / "r.jsonl", tmp_path / "c.state"
    args = upsert_args(source, fake, "--report", str(report), "--state", str(ckpt))
    with upsert_process([*args, "--rate-limit", "4/1", "--concurrency", "2", "--json"]) as run:
        wait_for_batches(ckpt, run, 1, fake.base_url)
        run.send_signal(signal.SIGINT)
        if presses == 2:
            time.sleep(0.1)
            run.send_signal(signal.SIGINT)
        stdout, stderr = run.communicate(timeout=30)
    assert run.returncode == 3, stderr
    summary = json.loads(stdout)
    assert "interrupted (SIGINT" in summary["stopped"]
    if presses == 1:
        assert "requests in flight were finished" in summary["stopped"]
        assert "finishing the requests in flight" in stderr
    else:
        assert "abandoned" in summary["stopped"]
    assert "Traceback" not in stderr
    assert f"the state {ckpt} is saved" in stderr
    assert 0 < summary["total"] < 800

    rerun = invoke([*args, "--json"])
    assert rerun.exit_code == 1, rerun.all_output
    assert json.loads(rerun.stdout)["unchanged"] > 0
    entries = assert_all_settled(fake, data, report)
    assert all(len(found) == 1 for found in entries.values())  # the rerun's report, whole


def test_a_killed_run_resumes_and_every_record_ends_settled_once(
    hubspot_fake_factory: Factory, tmp_path: Path
) -> None:
    fake = hubspot_fake_factory(rate_limit=(4, 1.0))
    data = numbered(800, ids=600)
    source = write_jsonl(tmp_path / "mail.jsonl", data)
    report, ckpt = tmp_path / "r.jsonl", tmp_path / "c.state"
    args = upsert_args(source, fake, "--report", str(report), "--state", str(ckpt))
    with upsert_process([*args, "--rate-limit", "4/1", "--concurrency", "3"]) as run:
        wait_for_batches(ckpt, run, 3, fake.base_url)
        run.send_signal(signal.SIGKILL)
        run.wait(10)
    assert run.returncode == -signal.SIGKILL
    at_kill = confirmed(ckpt, fake.base_url)
    assert 0 < at_kill < 600

    rerun = invoke([*args, "--json"])
    assert rerun.exit_code == 1, rerun.all_output
    summary = json.loads(rerun.stdout)
    assert summary["unchanged"] > 0
    entries = assert_all_settled(fake, data, report)
    assert all(len(found) == 1 for found in entries.values())


def test_input_unreadable_after_records_were_sent_exits_3(
    hubspot_fake: RunningFake, tmp_path: Path
) -> None:
    source = tmp_path / "mail.jsonl.gz"
    lines = [
        json.dumps({"external_id": f"U-{i}", "hs_postal_mail_body": f"{i} " * 20})
        for i in range(1500)
    ]
    packed = gzip.compress(("\n".join(lines) + "\n").encode())
    source.write_bytes(packed[: len(packed) * 9 // 10])  # cut short: unreadable near its end
    ckpt = tmp_path / "c.ckpt"
    args = upsert_args(source, hubspot_fake, "--state", str(ckpt))

    midway = invoke([*args, "--concurrency", "1"])  # sends as soon as 100 records are read
    assert midway.exit_code == 3, midway.all_output
    message = midway.stderr.strip().splitlines()[-1]  # after the last progress line
    assert message.startswith(f"Error: {source} after line ")
    assert "cannot read beyond line" in message
    assert f"rerun with --state {ckpt} to resume" in message
    assert len(hubspot_fake.app.records()) > 0
