"""The inputs benchmark measures what it says: valid typed rows, every one read, peak reset."""

from __future__ import annotations

from pathlib import Path

from benchmarks.inputs_run import child, reset_peak_rss, write_parquet


def test_the_benchmark_data_are_all_valid_records_in_every_input(tmp_path: Path) -> None:
    path = tmp_path / "m.parquet"
    write_parquet(path, 1_000)
    for kind, arg in (("cli", str(path)), ("pandas", "1000"), ("polars", "1000")):
        result = child(kind, arg)
        assert (result["records"], result["failed"]) == (1_000, 0), kind


def test_resetting_the_peak_forgets_memory_already_given_back() -> None:
    ballast = bytearray(200 * 2**20)
    ballast[::4096] = b"x" * len(ballast[::4096])  # touched, so resident
    del ballast
    now = reset_peak_rss()
    from benchmarks.memory import peak_rss_mb

    assert peak_rss_mb() < now + 50
