"""The state cost benchmark on a small run: it measures what it says it measures."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.state_cost import main, measure


def test_every_record_of_the_rerun_is_found_unchanged_and_sizes_are_reported(
    tmp_path: Path,
) -> None:
    result = measure(3_000, tmp_path)
    assert result["compare_in_sqlite"]["unchanged"] == 3_000
    assert result["lookup_in_chunks"]["unchanged"] == 3_000
    assert result["lookup_per_id"]["unchanged"] == 3_000
    assert result["unchanged_from_jsonl"]["unchanged"] == 3_000
    assert 20 < result["bytes_per_id"] < 200
    assert result["rerun_1pct_forget_confirm"]["batches"] == 1


def test_the_script_prints_its_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--records", "1000", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "B/id" in out
    assert "unchanged 1,000" in out
