"""The sync_state section on a small file: the three runs and what each sent."""

from __future__ import annotations

from benchmarks import sync_state_run


def test_reruns_send_nothing_unchanged_and_one_request_per_changed_hundred() -> None:
    data = sync_state_run.measure(2_000)
    rows = {row["run"]: row for row in data["rows"]}
    first, same, changed = rows["first run"], rows["unchanged rerun"], rows["1% changed"]
    assert (first["requests"], first["created"]) == (20, 2_000)
    assert (same["requests"], same["unchanged"]) == (0, 2_000)
    # 20 changed records (every hundredth) fill one batch; the rest are unchanged.
    assert (changed["requests"], changed["updated"], changed["unchanged"]) == (1, 20, 1_980)
    assert all(row["failed"] == 0 for row in data["rows"])
    assert all(0 < row["peak_rss_mb"] < 1_000 for row in data["rows"])
    assert first["state_mb"] > 0
