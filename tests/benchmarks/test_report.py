"""Tables and goals drawn from results, without measuring anything."""

from __future__ import annotations

from typing import Any

from benchmarks import report


def _client_rows(raw: float, ours: float, official: float) -> list[dict[str, Any]]:
    def row(key: str, cpu: float) -> dict[str, Any]:
        return {
            "key": key,
            "name": key,
            "cpu_ms": cpu,
            "cpu_low": cpu * 0.9,
            "cpu_high": cpu * 1.1,
            "wall_ms": cpu * 2,
            "ratio": cpu / raw,
        }

    return [
        row("raw", raw),
        row("gen_sync", ours),
        row("gen_async", ours),
        row("upsert_all", ours),
        row("official", official),
    ]


def _data(ours: float, peak_1m: float) -> report.Results:
    return {
        "meta": {"cpus": 2, "load": {"memory": [0.5, 1.5]}},
        "client_cost": {
            "runs": 7,
            "batches_per_run": 50,
            "server": "s",
            "rows": _client_rows(3.0, ours, 36.0),
        },
        "memory": {
            "server": "s",
            "rows": [
                {"records": n, "file_mb": 1.0, "baseline_mb": 37.0, "peak_mb": p, "elapsed_s": 1.0}
                for n, p in ((10_000, 47.0), (1_000_000, peak_1m))
            ],
        },
    }


def _met(data: report.Results) -> dict[str, bool]:
    return {goal.goal: goal.met for goal in report.goals(data)}


def test_goals_met_and_missed_follow_the_figures() -> None:
    good = _met(_data(ours=4.0, peak_1m=48.0))
    assert good
    assert all(good.values())
    bad = _met(_data(ours=8.0, peak_1m=160.0))
    missed = {goal for goal, met in bad.items() if not met}
    assert any("at most 1.5x raw httpx" in goal for goal in missed)
    assert any("at least 5x upsert_all" in goal for goal in missed)
    assert any("under 150 MB" in goal for goal in missed)
    assert any("flat" in goal for goal in missed)


def test_tables_have_one_row_per_result_and_the_load_note() -> None:
    data = _data(ours=4.0, peak_1m=48.0)
    text = report.client_cost_md(data)
    assert text.count("\n| ") == 2 + 5
    assert "| official | 36.00 |" in text
    memory = report.memory_md(data)
    assert "| 1,000,000 |" in memory
    assert "0.50 / 1.50" in memory


def test_readme_block_is_replaced_between_its_markers_only() -> None:
    text = f"# Title\n\nbefore\n{report.README_START}\nold\n{report.README_END}\nafter\n"
    updated = report.replace_block(text, report.readme_block(_data(ours=4.0, peak_1m=48.0)))
    assert updated.startswith("# Title\n\nbefore\n")
    assert updated.endswith(f"{report.README_END}\nafter\n")
    assert "old" not in updated
    assert "benchmarks/results/SUMMARY.md" in updated
    assert report.replace_block("no markers here\n", "x") == "no markers here\n"


def _shared(share: float, rate_limited_pct: float, lost: int) -> report.Results:
    row = {
        "mode": "shared budget (Redis)",
        "shared": True,
        "share_of_budget": share,
        "rate_share": share,
        "requests": 1000,
        "rate_limited": int(rate_limited_pct * 10),
        "rate_limited_pct": rate_limited_pct,
        "lost": lost,
        "span_s": 98.0,
        "wall_s": 101.0,
    }
    alone = {**row, "mode": "independent jobs", "shared": False, "rate_limited_pct": 30.0}
    section = {"processes": 4, "records_per_process": 25_000, "limit": 100, "window_s": 10.0}
    return {"shared_budget": {**section, "latency_s": 0.5, "rows": [alone, row]}}


def test_shared_budget_goals_read_only_the_shared_row() -> None:
    goals = report.goals(_shared(0.93, 0.0, 0))
    assert len(goals) == 3
    assert all(goal.met for goal in goals)
    missed = {goal.goal for goal in report.goals(_shared(0.85, 2.0, 3)) if not goal.met}
    assert len(missed) == 3
    assert any("combined share at least 0.9" in goal for goal in missed)
    text = report.shared_budget_md(_shared(0.93, 0.0, 0))
    assert text.count("\n| ") == 2 + 2
    assert "| shared budget (Redis) | 0.930 |" in text


def _real_and_state(share_at_2s: float, unchanged_requests: int) -> report.Results:
    pacing = [
        {
            "latency_s": latency,
            "records": 60_000,
            "requests": 600,
            "rate_limited": 0,
            "share_of_budget": share_at_2s if latency == 2.0 else 0.97,
            "lost": 0,
            "peak_in_flight": 40,
            "elapsed_s": 33.0,
            "ideal_s": 31.0,
        }
        for latency in (0.05, 1.0, 2.0)
    ]
    conflicts = {
        "records": 4_000,
        "distinct_ids": 2_400,
        "written_pct": 100.0,
        "lost": 0,
        "stale": 0,
        "conflicting_reported_conflict": 80,
        "conflicting_records": 80,
        "conflicting_ids": 48,
        "good_records_failed": 0,
        "requests": 1_100,
        "share_of_budget": 0.9,
        "elapsed_s": 60.0,
    }
    predictions = [{"tier": "t", "limit": "190/10", "ideal_s": 521.0, "predicted_s": 548.4}]

    def run(name: str, requests: int, unchanged: int) -> dict[str, Any]:
        return {
            "run": name,
            "requests": requests,
            "created": 0,
            "updated": 0,
            "unchanged": unchanged,
            "wall_s": 10.0,
            "run_s": 5.0,
            "records_per_s_wall": 100_000,
            "records_per_s_run": 200_000,
            "state_mb": 60.0,
            "peak_rss_mb": 90.0,
        }

    return {
        "meta": {"cpus": 2},
        "real_conditions": {
            "limit": 95,
            "window_s": 5.0,
            "rows": pacing,
            "conflicts": conflicts,
            "predictions": predictions,
        },
        "sync_state": {
            "records": 1_000_000,
            "changed_every": 100,
            "startup_s": 0.4,
            "rows": [
                run("first run", 10_000, 0),
                run("unchanged rerun", unchanged_requests, 1_000_000),
                run("1% changed", 100, 990_000),
            ],
        },
    }


def test_real_conditions_and_sync_state_goals_follow_the_figures() -> None:
    met = {g.goal: g.met for g in report.goals(_real_and_state(0.96, 0))}
    assert all(met.values())
    missed = {g.goal: g for g in report.goals(_real_and_state(0.5, 3))}
    share = next(g for name, g in missed.items() if "every latency" in name)
    assert (share.met, share.measured) == (False, "lowest 0.500 (at 2 s)")
    assert not next(g.met for name, g in missed.items() if "sends 0 requests" in name)


def test_real_conditions_and_sync_state_tables_show_each_row_and_the_prediction() -> None:
    data = _real_and_state(0.96, 0)
    real = report.real_conditions_md(data)
    assert real.count("| 60,000 |") == 3
    assert "| t | 190/10 | 8 min 41 s | 9 min 08 s |" in real
    state = report.sync_state_md(data)
    assert "| unchanged rerun | 0 | 0 / 0 / 1,000,000 |" in state
