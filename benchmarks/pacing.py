"""Pacing efficiency: how close ``upsert_all`` runs to the budget, against the fake HubSpot.

The run itself is ``benchmarks/resilience_run.py`` (the fake in a child process with a
rolling-window limit, faults and latency; every id read back from the fake's store
afterwards); this module only picks the scenarios, runs it, and derives the efficiency.
Ids are drawn from a space so large that none repeats, so each record costs one input and
the budget's ceiling is plain: ``limit`` requests of 100 records per second.

A perfect client needs ``(ceil(requests / limit) - 1) * window`` plus the last window's answer
time (see ``stats.ideal_seconds``); *efficiency* is that over the time the run took.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from benchmarks.echo_server import ROOT
from benchmarks.records import BATCH
from benchmarks.stats import ceiling_fraction, ideal_seconds
from hubspot_postal_mail._constants import DEFAULT_CONCURRENCY

RESILIENCE_RUN = "benchmarks.resilience_run"  # run as a module, from the project root
NO_REPEATS = 10**12  # resilience_run draws ids from this many: no id repeats in the input


@dataclass(frozen=True)
class Scenario:
    name: str
    records: int
    rate: int = 20  # requests per 1 s rolling window, at the fake and in the client
    latency_s: float = 0.05  # the fake's answer time for every upsert
    fault_rate: float = 0.0  # share answered 500/502/503/504
    drop_rate: float = 0.0  # share whose connection is closed without an answer
    concurrency: int | str = DEFAULT_CONCURRENCY  # upsert_all's default

    window_s: ClassVar[float] = 1.0  # resilience_run's window

    @property
    def budget_records_per_s(self) -> float:
        """The budget's ceiling: full batches at the full rate."""
        return self.rate * BATCH / self.window_s

    def argv(self, out: Path) -> list[str]:
        return [
            sys.executable,
            "-m",
            RESILIENCE_RUN,
            f"--records={self.records}",
            f"--distinct={NO_REPEATS}",
            f"--rate={self.rate}",
            f"--fault-rate={self.fault_rate}",
            f"--drop-rate={self.drop_rate}",
            f"--latency={self.latency_s}",
            f"--concurrency={self.concurrency}",
            "--no-competitor",
            f"--json={out}",
        ]


@dataclass(frozen=True)
class PacingResult:
    name: str
    records: int
    elapsed_s: float
    records_per_s: float
    of_ceiling: float  # records/s over the budget's records/s
    efficiency: float  # ideal time over elapsed time
    requests: int  # HTTP attempts the client made
    retries: int
    rate_limited: int  # 429s the client received
    failed: int  # records the client reported as failed
    lost: int  # ids the fake does not hold with the value sent
    unreported: int  # records with no outcome in the report


def derive(scenario: Scenario, figures: dict[str, Any]) -> PacingResult:
    """Our figures from resilience_run's JSON."""
    summary = figures["summary"]
    elapsed = float(summary["elapsed_s"])
    ideal = ideal_seconds(
        math.ceil(scenario.records / BATCH),
        scenario.rate,
        scenario.window_s,
        latency_s=scenario.latency_s,
        concurrency=scenario.rate if scenario.concurrency == "auto" else int(scenario.concurrency),
    )
    return PacingResult(
        name=scenario.name,
        records=scenario.records,
        elapsed_s=elapsed,
        records_per_s=scenario.records / elapsed,
        of_ceiling=ceiling_fraction(
            scenario.records, elapsed, ceiling_per_s=scenario.budget_records_per_s
        ),
        efficiency=ideal / elapsed,
        requests=summary["requests"],
        retries=summary["retries"],
        rate_limited=summary["rate_limited"],
        failed=figures["records_failed"],
        lost=figures["ids_stale"],  # stale counts missing ids too
        unreported=figures["records_lost"],
    )


def run(scenario: Scenario) -> PacingResult:
    with tempfile.TemporaryDirectory() as work:
        out = Path(work) / "figures.json"
        # Exit status 1 means records were lost or failed: a figure to report, not a crash.
        done = subprocess.run(  # noqa: S603 - our own interpreter and script
            scenario.argv(out), cwd=ROOT, capture_output=True, text=True, check=False
        )
        if not out.exists():
            raise RuntimeError(f"resilience_run failed ({done.returncode}): {done.stderr[-2000:]}")
        return derive(scenario, json.loads(out.read_text()))


SCENARIOS = (
    Scenario("no faults", records=30_000),
    Scenario("5% 5xx + 5% dropped", records=30_000, fault_rate=0.05, drop_rate=0.05),
)
