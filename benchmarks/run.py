"""``make bench``: run the benchmarks, then rewrite ``benchmarks/results/`` and the README summary.

Results go to ``results.json`` first; every table, plot and the summary are drawn from it, so
``--only SECTION`` re-measures one section and still re-renders the rest from the last run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from benchmarks import (
    client_cost,
    memory,
    pacing,
    real_conditions_run,
    report,
    shared_budget_run,
    sync_state_run,
    workflow,
)
from benchmarks.echo_server import ROOT, running_echo_server
from benchmarks.records import batches

RESULTS = Path(__file__).resolve().parent / "results"
README = ROOT / "README.md"
SECTIONS = (
    "client_cost",
    "pacing",
    "memory",
    "workflow",
    "shared_budget",
    "real_conditions",
    "sync_state",
)
ECHO_SERVER = (
    "`benchmarks/echo_server.py`, raw asyncio on 127.0.0.1 in its own process, a valid 200 "
    "body built from each request, no records kept, no rate limit"
)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_client_cost(quick: bool) -> dict[str, Any]:
    per_run, runs = (5, 2) if quick else (100, 11)  # medians steady to about 2 % here
    official = f"hubspot-api-client {version('hubspot-api-client')} BatchApi.upsert"
    contenders = tuple(
        client_cost.Contender(c.key, official if c.key == "official" else c.name, c.run, c.floor)
        for c in client_cost.CONTENDERS
    )
    with running_echo_server() as server:
        timings = client_cost.measure(
            server.base_url, batches(per_run), runs=runs, contenders=contenders
        )
    floor = timings["raw"].cpu_ms.median
    rows = [
        {
            "key": c.key,
            "name": c.name,
            "cpu_ms": timings[c.key].cpu_ms.median,
            "cpu_low": timings[c.key].cpu_ms.low,
            "cpu_high": timings[c.key].cpu_ms.high,
            "wall_ms": timings[c.key].wall_ms.median,
            "ratio": timings[c.key].cpu_ms.median / floor,
        }
        for c in contenders
    ]
    return {"batches_per_run": per_run, "runs": runs, "server": ECHO_SERVER, "rows": rows}


def run_pacing(quick: bool) -> dict[str, Any]:
    rows = []
    for scenario in pacing.SCENARIOS:
        if quick:
            scenario = pacing.Scenario(**{**asdict(scenario), "records": 2_000})
        result = pacing.run(scenario)
        rows.append(
            asdict(scenario)
            | asdict(result)
            | {
                "window_s": scenario.window_s,
                "budget_records_per_s": scenario.budget_records_per_s,
            }
        )
        _say(f"  {scenario.name}: efficiency {result.efficiency:.3f}, lost {result.lost}")
    return {"rows": rows}


def run_memory(quick: bool) -> dict[str, Any]:
    sizes = (1_000, 10_000) if quick else memory.SIZES
    rows = []
    for result in memory.measure(sizes):
        rows.append(asdict(result))
        _say(f"  {result.records:,} records: peak {result.peak_mb:.1f} MB")
    return {"server": ECHO_SERVER, "rows": rows}


def run_workflow(quick: bool) -> dict[str, Any]:
    stages = workflow.STAGES[:2] if quick else workflow.STAGES

    def progress(result: workflow.StageResult) -> None:
        _say(f"  {result.name}: {result.wall_s:.1f} s (exit {result.exit_code})")

    return {"rows": [asdict(r) for r in workflow.measure(stages, progress)]}


def run_shared_budget(quick: bool) -> dict[str, Any]:
    # HubSpot's own window (100 per 10 s), 0.5 s answers; quick: 2 s windows, few records.
    if quick:
        data = shared_budget_run.measure(2_500, window=2.0, latency=0.1)
    else:
        data = shared_budget_run.measure(25_000, window=10.0, latency=0.5)
    for row in data["rows"]:
        _say(
            f"  {row['mode']}: share {row['share_of_budget']:.3f}, "
            f"429s {row['rate_limited']}, lost {row['lost']}"
        )
    return data


def run_real_conditions(quick: bool) -> dict[str, Any]:
    # Five latencies of ~35 s each, then ~60 s of whole-batch 409s at 1 s; quick: a few s each.
    return real_conditions_run.measure(quick, say=_say)


def run_sync_state(quick: bool) -> dict[str, Any]:
    return sync_state_run.measure(100_000 if quick else 1_000_000, say=_say)


RUNNERS: dict[str, Callable[[bool], dict[str, Any]]] = {
    "client_cost": run_client_cost,
    "pacing": run_pacing,
    "memory": run_memory,
    "workflow": run_workflow,
    "shared_budget": run_shared_budget,
    "real_conditions": run_real_conditions,
    "sync_state": run_sync_state,
}
RENDER: dict[str, Callable[[report.Results], str]] = {
    "client_cost": report.client_cost_md,
    "pacing": report.pacing_md,
    "memory": report.memory_md,
    "workflow": report.workflow_md,
    "shared_budget": report.shared_budget_md,
    "real_conditions": report.real_conditions_md,
    "sync_state": report.sync_state_md,
}


def write_outputs(data: report.Results, results_dir: Path, readme: Path | None) -> None:
    """Every table and plot for the sections present, the summary, the README block."""
    from benchmarks import plots  # matplotlib only here: the tables need none of it

    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "results.json").write_text(json.dumps(data, indent=2) + "\n")
    for section in SECTIONS:
        if section in data:
            text = RENDER[section](data)
            if section in plots.PLOTS:  # the newer sections are tables only
                text += f"\n![{section}]({section}.png)\n"
                plots.PLOTS[section](data, results_dir / f"{section}.png")
            (results_dir / f"{section}.md").write_text(text)
    (results_dir / "SUMMARY.md").write_text(report.summary_md(data))
    if readme is not None and readme.exists():
        text = readme.read_text(encoding="utf-8")
        updated = report.replace_block(text, report.readme_block(data))
        if updated != text:
            readme.write_text(updated, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma-separated, from {', '.join(SECTIONS)}"
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where to write")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(chosen) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")

    stored = args.results / "results.json"
    data: report.Results = json.loads(stored.read_text()) if stored.exists() else {}
    meta = data.setdefault("meta", {})
    if chosen:  # --only "" re-renders the last results as they are
        meta.update(
            date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            python=platform.python_version(),
            cpus=os.cpu_count(),
            quick=args.quick,
        )
    load = meta.setdefault("load", {})
    started = time.perf_counter()
    for section in chosen:
        _say(f"{section} ...")
        before = os.getloadavg()[0]
        data[section] = RUNNERS[section](args.quick)
        load[section] = [before, os.getloadavg()[0]]
    if chosen:
        meta["elapsed_s"] = round(time.perf_counter() - started, 1)
    # A quick run is a smoke test: keep the README on real figures.
    write_outputs(data, args.results, None if args.quick else README)
    print(report.summary_md(data))
    _say(f"done in {time.perf_counter() - started:.0f} s; results in {args.results}")
    return 0
