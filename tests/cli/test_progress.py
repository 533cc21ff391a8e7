"""The progress views: the live bar on a terminal, plain lines elsewhere, and the cheap count
of records that gives them a total."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from hubspot_postal_mail import Progress
from hubspot_postal_mail import _progress as progress
from hubspot_postal_mail._progress import LiveBar, PeriodicLines, count_records, progress_view

START = Progress(
    read=0,
    total=0,
    created=0,
    updated=0,
    failed=0,
    skipped=0,
    in_flight=0,
    requests=0,
    retries=0,
    rate_limited=0,
    elapsed_s=0.0,
)


def console(*, terminal: bool) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=terminal, width=160, soft_wrap=True), out


def test_a_terminal_gets_the_bar_and_a_pipe_gets_lines() -> None:
    terminal, _ = console(terminal=True)
    piped, _ = console(terminal=False)
    bar = progress_view(terminal, 10, "Upserting")
    try:
        assert isinstance(bar, LiveBar)
    finally:
        bar.close(finished=False)
    assert isinstance(progress_view(piped, 10, "Upserting"), PeriodicLines)


def test_the_bar_shows_rate_eta_retries_and_429s() -> None:
    terminal, out = console(terminal=True)
    bar = LiveBar(terminal, 1000, "Upserting")
    snapshot = replace(
        START, read=500, total=400, created=390, failed=10, requests=5, retries=2, elapsed_s=2.0
    )
    bar.update(snapshot)
    bar.close(finished=False)
    text = out.getvalue()
    assert "400/1000" in text
    assert "200 rec/s" in text
    assert "ETA 0:03" in text  # 600 left at 200 a second
    assert "5 requests, 2 retries, 0 rate-limited (429)" in text


def test_without_a_total_the_bar_has_no_eta() -> None:
    terminal, out = console(terminal=True)
    bar = LiveBar(terminal, None, "Upserting")
    bar.update(replace(START, total=300, elapsed_s=1.0))
    bar.close(finished=False)
    assert "ETA -" in out.getvalue()
    assert "300" in out.getvalue()


def test_plain_lines_come_at_most_once_per_interval_and_once_at_the_end() -> None:
    piped, out = console(terminal=False)
    lines = PeriodicLines(piped, 400, interval=3600)
    for done in range(0, 400, 100):
        lines.update(replace(START, total=done, elapsed_s=1.0 + done / 100))
    lines.close(finished=True)
    shown = out.getvalue().splitlines()
    assert shown == [
        "progress: 300 of about 400 records (75%), 75 records/s, ETA 0:01; "
        "0 requests, 0 retries, 0 rate-limited (429); 0 failed"
    ]


def test_unchanged_records_count_toward_the_total_and_say_so() -> None:
    line = progress.plain_line(replace(START, total=900, unchanged=800, elapsed_s=1.0), 1000)
    assert line.startswith("900 of about 1000 records (90%) (800 unchanged), 900 records/s")
    assert "ETA 0:00" in line


def test_count_records_counts_non_blank_lines_of_json_lines(tmp_path: Path) -> None:
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_bytes(b'{"a": 1}\n\n  \n{"a": 2}\n{"a": 3}')  # blank lines; no final newline
    assert count_records(jsonl) == 3
    assert count_records(tmp_path / "absent.jsonl") is None
    assert count_records("-") is None


def test_count_records_counts_csv_rows_not_lines(tmp_path: Path) -> None:
    """A line break inside a quoted field does not end a row, so the run ends at 100%."""
    table = tmp_path / "a.csv"
    table.write_bytes(b'id,x\r\n1,"a\r\nb ""quoted"" \r\n\r\nc"\r\n2,b\r\n\r\n')
    assert count_records(table) == 2
    assert count_records(tmp_path / "absent.csv") is None


def test_count_records_reads_through_gzip_and_parquet_metadata(tmp_path: Path) -> None:
    import gzip

    import pyarrow as pa
    import pyarrow.parquet as pq

    packed = tmp_path / "a.tsv.gz"
    packed.write_bytes(gzip.compress(b"id\tx\n1\ta\n2\tb\n3\tc\n"))
    assert count_records(packed) == 3
    table = tmp_path / "a.parquet"
    pq.write_table(pa.table({"id": [str(n) for n in range(1234)]}), table, row_group_size=100)
    assert count_records(table) == 1234
    assert count_records(tmp_path / "a.bin", format="parquet") is None


@pytest.mark.parametrize("width", [60, 80, 100])
def test_at_80_columns_the_bar_keeps_the_count_and_the_eta_on_one_line(width: int) -> None:
    out = io.StringIO()
    terminal = Console(file=out, force_terminal=True, width=width, color_system=None)
    bar = LiveBar(terminal, 200_000, "Upserting")
    snapshot = replace(
        START,
        read=6000,
        total=5484,
        created=5400,
        updated=40,
        failed=44,
        requests=57,
        retries=3,
        rate_limited=1,
        elapsed_s=61.0,
    )
    bar.update(snapshot)
    bar.close(finished=False)
    # The last frame, without the cursor movements a live display writes between frames.
    frame = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\r", "\n", out.getvalue()).strip().splitlines()[-1]
    assert "5484/200000" in frame
    assert "ETA 36:04" in frame  # 194,516 left at 89.9 a second
    assert len(frame) <= width
