"""The checkpoint file, and a run killed with SIGKILL then rerun: nothing lost, nothing stale."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hubspot_postal_mail import CheckpointError, upsert_all
from hubspot_postal_mail._checkpoint import Checkpoint, IntervalSet, to_ranges
from hubspot_postal_mail._readers import read_records

from ._hub import BAD_MARK, MiniHub, serve
from .conftest import TOKEN


@given(st.lists(st.tuples(st.integers(0, 200), st.integers(0, 30))))
def test_interval_set_holds_exactly_what_was_added(spans: list[tuple[int, int]]) -> None:
    intervals = IntervalSet()
    expected: set[int] = set()
    for start, length in spans:
        intervals.add_range(start, start + length)
        expected.update(range(start, start + length))
    assert len(intervals) == len(expected)
    assert all((v in intervals) == (v in expected) for v in range(-1, 240))
    ranges = intervals.ranges()
    assert all(a[1] < b[0] for a, b in itertools.pairwise(ranges))  # merged


def test_to_ranges() -> None:
    assert to_ranges([5, 1, 2, 3, 9, 10, 2]) == [[1, 4], [5, 6], [9, 11]]


def test_marks_survive_reopening_and_stay_small(tmp_path: Path) -> None:
    path = tmp_path / "c.ckpt"
    ckpt = Checkpoint(path, id_property="external_id")
    assert not ckpt.resumed
    for batch in range(100):
        ckpt.mark(range(batch * 100, batch * 100 + 100))
    ckpt.close()
    again = Checkpoint(path, id_property="external_id")
    assert again.resumed
    assert again.is_done(0)
    assert again.is_done(9999)
    assert not again.is_done(10000)
    again.close()
    assert path.stat().st_size < 10_000  # 10,000 positions in a few kilobytes


def test_a_torn_last_line_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "c.ckpt"
    ckpt = Checkpoint(path, id_property="k")
    ckpt.mark([0, 1, 2])
    ckpt.close()
    with path.open("a") as f:
        f.write('{"done":[[3,')  # the process died mid-write
    again = Checkpoint(path, id_property="k")
    assert again.is_done(2)
    assert not again.is_done(3)
    again.mark([3])
    again.close()
    assert Checkpoint(path, id_property="k").is_done(3)


def test_a_checkpoint_of_another_run_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.ckpt"
    Checkpoint(path, id_property="a").close()
    with pytest.raises(CheckpointError, match="another run"):
        Checkpoint(path, id_property="b")
    path.write_text("not json\nnot json\n")
    with pytest.raises(CheckpointError):
        Checkpoint(path, id_property="a")


HEADER = '{"format": "hubspot-postal-mail-checkpoint/1", "id_property": "k"}\n'


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        (b'["x"]\n', "is not a postal-mail checkpoint"),
        (b'{"format": "other"}\n', "is not a postal-mail checkpoint"),
        (HEADER.encode() + b'{"done": 5}\n', "line 2 is not a checkpoint entry"),
        (HEADER.encode() + b"[[0, 1]]\n", "line 2 is not a checkpoint entry"),
        (HEADER.encode() + b'{"done": [[0, 1, 2]]}\n', "line 2 is not a checkpoint entry"),
        (HEADER.encode() + b'{"done": [["0", 1]]}\n', "line 2 is not a checkpoint entry"),
        (HEADER.encode() + b'{"done": [[-3, 1]]}\n', "line 2 is not a checkpoint entry"),
        (HEADER.encode() + b'{"done": [[true, 1]]}\n', "line 2 is not a checkpoint entry"),
        (b"\xff\xfe\n", "is not a checkpoint (not UTF-8 text)"),
    ],
)
def test_a_file_that_is_not_a_checkpoint_is_refused_with_a_checkpoint_error(
    tmp_path: Path, content: bytes, complaint: str
) -> None:
    path = tmp_path / "c.ckpt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=re.escape(complaint)):
        Checkpoint(path, id_property="k")
    assert path.read_bytes() == content  # left as it was


def test_a_checkpoint_in_a_missing_folder_names_the_folder(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"the folder .*/absent does not exist") as raised:
        Checkpoint(tmp_path / "absent" / "c.ckpt", id_property="k")
    assert ".tmp" not in str(raised.value)


CHILD = """
import sys
from hubspot_postal_mail import upsert_all
from hubspot_postal_mail._readers import read_records
upsert_all(
    read_records(sys.argv[1]), id_property="external_id", base_url=sys.argv[2],
    checkpoint=sys.argv[3], report=sys.argv[4], concurrency=4, batch_size=10,
    rate_limit="100000/1",
)
"""


def write_input(path: Path, n: int, ids: int) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    with path.open("w") as f:
        for i in range(n):
            if i % 97 == 50:
                f.write("{not json\n")
                rows.append({})
                continue
            row = {"external_id": f"E{i % ids}", "seq": str(i)}
            if i % 211 == 7:
                row["hs_postal_mail_body"] = BAD_MARK
            f.write(json.dumps(row) + "\n")
            rows.append(row)
    return rows


def test_resume_after_a_kill_loses_nothing_and_leaves_nothing_stale(tmp_path: Path) -> None:
    source, ckpt, report = tmp_path / "in.jsonl", tmp_path / "run.ckpt", tmp_path / "report.jsonl"
    rows = write_input(source, 2000, ids=700)
    hub = MiniHub(delay_s=0.02)
    with serve(hub) as url:
        env = {**os.environ, "HUBSPOT_ACCESS_TOKEN": TOKEN}
        child = subprocess.Popen(  # noqa: S603 - our own interpreter and script
            [sys.executable, "-c", CHILD, str(source), url, str(ckpt), str(report)], env=env
        )
        try:
            deadline = time.monotonic() + 60
            while (ckpt.exists() and ckpt.read_text().count("\n") < 25) or not ckpt.exists():
                assert child.poll() is None, "the run finished before it could be killed"
                assert time.monotonic() < deadline
                time.sleep(0.01)
            child.send_signal(signal.SIGKILL)
        finally:
            child.wait(10)
        first_run_writes = len(hub.writes)
        assert first_run_writes > 0
        report_after_kill = report.read_text().count("\n")
        assert report_after_kill < 2000

        final = upsert_all(
            read_records(source),
            id_property="external_id",
            token=TOKEN,
            base_url=url,
            checkpoint=ckpt,
            report=report,
            concurrency=4,
            batch_size=10,
            rate_limit="100000/1",
        )
    assert final.resumed > 0
    assert final.stopped is None

    # Every id holds the value of its last valid occurrence in the input.
    last: dict[str, str] = {}
    for row in rows:
        if row and row.get("hs_postal_mail_body") != BAD_MARK:
            last[row["external_id"]] = row["seq"]
    assert {k: v["seq"] for k, v in hub.store.items()} == last

    # Every line has an outcome in the report (a line in flight at the kill may appear twice:
    # the later entry is the one that counts), and the checkpoint covers the whole input.
    entries: dict[int, dict[str, object]] = {}
    for text in report.read_text().splitlines():
        entry = json.loads(text)
        entries[int(entry["line"])] = entry
    assert set(entries) == set(range(1, 2001))
    for line, entry in entries.items():
        row = rows[line - 1]
        if not row or row.get("hs_postal_mail_body") == BAD_MARK:
            assert entry["outcome"] == "failed"
        else:
            assert entry["outcome"] in ("created", "updated", "skipped")
    done = Checkpoint(ckpt, id_property="external_id")
    assert all(done.is_done(i) for i in range(2000))
    done.close()


async def test_an_interrupted_run_resumes_where_it_stopped(tmp_path: Path) -> None:
    import asyncio

    from hubspot_postal_mail import Progress, aupsert_all

    ckpt = tmp_path / "run.ckpt"
    data = [{"external_id": f"E{i % 300}", "seq": str(i)} for i in range(1500)]
    hub = MiniHub(delay_s=0.01)
    half = asyncio.Event()

    def watch(progress: Progress) -> None:
        if progress.done >= 500:
            half.set()

    options: dict[str, Any] = {
        "id_property": "external_id",
        "token": TOKEN,
        "checkpoint": ckpt,
        "concurrency": 3,
        "batch_size": 10,
        "rate_limit": "100000/1",
    }
    with serve(hub) as url:
        run = asyncio.ensure_future(aupsert_all(data, base_url=url, on_progress=watch, **options))
        await half.wait()
        run.cancel()  # what Ctrl+C does to the CLI's event loop
        with pytest.raises(asyncio.CancelledError):
            await run
        assert len(hub.writes) < 1500
        final = await aupsert_all(data, base_url=url, **options)
    assert final.resumed >= 500
    assert final.stopped is None
    last = {row["external_id"]: row["seq"] for row in data}
    assert {k: v["seq"] for k, v in hub.store.items()} == last
