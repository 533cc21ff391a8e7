"""Peak RSS as the memory benchmark reads it: the run's own, not inherited from the runner."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.echo_server import ROOT
from benchmarks.memory import peak_rss_mb
from benchmarks.records import write_jsonl


def test_a_child_does_not_report_its_parents_peak() -> None:
    ballast = b"x" * (300 * 2**20)  # written, so resident
    assert peak_rss_mb() > 300
    done = subprocess.run(
        [sys.executable, "-c", "from benchmarks.memory import peak_rss_mb; print(peak_rss_mb())"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    del ballast
    assert float(done.stdout) < 150


def test_jsonl_input_has_one_record_a_line(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "r.jsonl", 10_005)
    lines = path.read_text().splitlines()
    assert len(lines) == 10_005
    assert json.loads(lines[-1])["external_id"] == "PM-0000010004"
