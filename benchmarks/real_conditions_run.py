"""Real HubSpot conditions (issue 11): the budget used at real latency, and whole-batch 409s.

Run by ``make bench`` (section ``real_conditions``), or by hand::

    .venv/bin/python -m benchmarks.real_conditions_run [--quick] [--json OUT]

Each run starts a fake HubSpot in a child process (``serve_forever``, 127.0.0.1) and sends
to it with ``upsert_all`` and its default settings (``concurrency="auto"``) in this process.

- *Pacing across latencies*: HubSpot's 190 requests per 10 s, scaled to 95 per 5 s window (the
  same requests per second, so the same number in flight is needed at a given latency; a run
  of several windows, not three). Not 19 per 1 s: the runtime keeps at most one window's
  budget in flight, 19 there, fewer than the 38 and 57 that 2 s and 3 s answers need at 19 a
  second, while at 190/10 (and 95/5) that bound is above the 88 it wants at 3 s, so a 1 s
  window would measure the scaling, not the runtime. The fake enforces that window and
  answers every request in exactly ``L`` seconds; no faults, no other client. *Share of
  budget*: the least time any client could take to have the fake's window count the requests
  it counted
  (``stats.ideal_seconds``: every window full from the start, the last window's answers all
  in flight at once) over the time the run took.
- *Conflicts at 1 s*: answers log-normal around 1 s (sigma 0.5, at most 3 s), 2% of ids
  conflicting (the fake refuses the whole batch with 409 while one of its inputs conflicts),
  ids repeated across the input. The conflicting ids are known here from the fake's own rule
  (a hash of seed and id), so every one of their records must be reported failed with
  ``CONFLICT`` and every other id must hold the value of its last line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from benchmarks.records import ID_PROPERTY, records
from benchmarks.resilience_run import TOKEN, counted
from benchmarks.stats import ideal_seconds
from hubspot_postal_mail import Outcome, RecordResult, UpsertReport, upsert_all

LIMIT = 95  # requests per WINDOW_S: HubSpot's 190 per 10 s, scaled (see the module's doc)
WINDOW_S = 5.0
LATENCIES = (0.05, 0.5, 1.0, 2.0, 3.0)
ALL_AT_ONCE = 10**6  # ideal_seconds' concurrency: the last window's answers all in flight
SEED = 2026
CONFLICT_SHARE = 0.02
# HubSpot's tiers (requests per 10 s) for the prediction at 1,000,000 records.
TIERS = (
    ("Free / Starter", 100),
    ("Professional / Enterprise", 190),
    ("API limit increase", 250),
)
PREDICTED_REQUESTS = 10_000  # 1,000,000 records in batches of 100

FAKE = """
import json, sys
from hubspot_postal_mail.fake import FakeConfig, FakeHubSpot
from hubspot_postal_mail.fake._server import serve_forever
options = json.loads(sys.argv[1])
options["rate_limit"] = tuple(options["rate_limit"])
def announce(running):
    print(running.base_url, flush=True)
serve_forever(FakeHubSpot(FakeConfig(**options)), host="127.0.0.1", port=0,
              log_level="critical", announce=announce)
"""


@contextmanager
def running_fake(**options: Any) -> Iterator[str]:
    """A fake HubSpot with ``FakeConfig(**options)`` in a child process; yields its base URL."""
    fake = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", FAKE, json.dumps(options)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert fake.stdout is not None
        base_url = fake.stdout.readline().strip()
        if not base_url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"the fake did not start: {base_url!r}")
        yield base_url
    finally:
        fake.terminate()
        fake.wait(10)


class InFlightTransport(httpx.AsyncHTTPTransport):
    """Our innermost transport: counts what the fake's window counted and the peak in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.counted = 0
        self.in_flight = 0
        self.peak_in_flight = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            answer = await super().handle_async_request(request)
        finally:
            self.in_flight -= 1
        self.counted += counted(answer)
        return answer


def share_of_budget(counted_requests: int, elapsed_s: float, latency_s: float) -> float:
    """The least time the counted requests could take through the budget, over the time taken."""
    if counted_requests < 1:
        return 0.0
    ideal = ideal_seconds(
        counted_requests, LIMIT, WINDOW_S, latency_s=latency_s, concurrency=ALL_AT_ONCE
    )
    return ideal / elapsed_s


def _send(
    base_url: str, data: Iterator[dict[str, str]]
) -> tuple[UpsertReport, InFlightTransport, dict[int, RecordResult]]:
    """``upsert_all`` with its defaults and the scaled budget; the report and every result."""
    results: dict[int, RecordResult] = {}

    def keep(result: RecordResult) -> None:
        results[result.line] = result

    os.environ["HUBSPOT_ACCESS_TOKEN"] = TOKEN
    ours = InFlightTransport()
    report = upsert_all(
        data,
        id_property=ID_PROPERTY,
        base_url=base_url,
        rate_limit=f"{LIMIT}/{WINDOW_S:g}",
        report=keep,
        transport=ours,
    )
    return report, ours, results


def pacing_row(latency_s: float, count: int) -> dict[str, Any]:
    """One latency: ``count`` distinct records through a fake answering in ``latency_s``."""
    with running_fake(
        rate_limit=[LIMIT, WINDOW_S],
        daily_limit=None,
        latency_median_s=latency_s,
        latency_sigma=0.0,
    ) as base_url:
        report, ours, results = _send(base_url, records(count))
    return {
        "latency_s": latency_s,
        "records": count,
        "requests": report.requests,
        "counted_requests": ours.counted,
        "rate_limited": report.rate_limited,
        "failed": report.failed,
        "lost": count - len(results),
        "elapsed_s": round(report.elapsed_s, 2),
        "ideal_s": round(
            ideal_seconds(
                ours.counted, LIMIT, WINDOW_S, latency_s=latency_s, concurrency=ALL_AT_ONCE
            ),
            2,
        ),
        "share_of_budget": round(share_of_budget(ours.counted, report.elapsed_s, latency_s), 3),
        "peak_in_flight": ours.peak_in_flight,
    }


def conflicts(record_id: str, seed: int = SEED, share: float = CONFLICT_SHARE) -> bool:
    """Whether the fake treats ``record_id`` as conflicting: its rule, from its ``seed``."""
    digest = hashlib.sha256(f"{seed}:{ID_PROPERTY}:{record_id}".encode()).digest()
    return int.from_bytes(digest[:8]) / 2**64 < share


def repeating(count: int, distinct: int, seed: int = SEED) -> Iterator[dict[str, str]]:
    """``count`` records over ``distinct`` ids in random order, so ids repeat."""
    rng = random.Random(seed)  # noqa: S311 - reproducible data, not secrets
    for i in range(count):
        yield {ID_PROPERTY: f"PM-{rng.randrange(distinct):06d}", "hs_postal_mail_body": f"v{i}"}


def conflict_run(count: int, distinct: int) -> dict[str, Any]:
    """The resilience run at 1 s median latency with 2% conflicting ids."""
    with running_fake(
        rate_limit=[LIMIT, WINDOW_S],
        daily_limit=None,
        latency_median_s=1.0,
        latency_sigma=0.5,
        latency_max_s=3.0,
        conflict_share=CONFLICT_SHARE,
        seed=SEED,
    ) as base_url:
        report, ours, results = _send(base_url, repeating(count, distinct))
        stored = httpx.get(f"{base_url}/_fake/records", timeout=120).json()["results"]
    held = {r["properties"].get(ID_PROPERTY): r["properties"] for r in stored}
    last: dict[str, str] = {}
    bad_ids: set[str] = set()
    conflicting_records = reported_conflict = wrongly_failed = 0
    for line, record in enumerate(repeating(count, distinct), start=1):
        key = record[ID_PROPERTY]
        result = results.get(line)
        if conflicts(key):
            bad_ids.add(key)
            conflicting_records += 1
            category = result.error.category if result and result.error else None
            ok = result is not None and result.outcome is Outcome.FAILED
            reported_conflict += ok and str(category) == "CONFLICT"
        else:
            last[key] = record["hs_postal_mail_body"]
            wrongly_failed += result is not None and result.outcome is Outcome.FAILED
    written = sum(
        1 for key, value in last.items() if held.get(key, {}).get("hs_postal_mail_body") == value
    )
    return {
        "records": count,
        "distinct_ids": len(last) + len(bad_ids),
        "conflicting_ids": len(bad_ids),
        "conflicting_records": conflicting_records,
        "conflicting_reported_conflict": reported_conflict,
        "conflicting_ids_written": sum(1 for key in bad_ids if key in held),
        "good_records_failed": wrongly_failed,
        "written_pct": round(100 * written / len(last), 3) if last else 0.0,
        "stale": len(last) - written,
        "lost": count - len(results),
        "requests": report.requests,
        "counted_requests": ours.counted,
        "rate_limited": report.rate_limited,
        "retries": report.retries,
        "elapsed_s": round(report.elapsed_s, 2),
        "share_of_budget": round(share_of_budget(ours.counted, report.elapsed_s, 1.0), 3),
        "peak_in_flight": ours.peak_in_flight,
    }


def predictions(share_at_1s: float) -> list[dict[str, Any]]:
    """1,000,000 records at each tier: the ideal time at 1 s latency over the share measured."""
    rows = []
    for tier, per_10s in TIERS:
        ideal = ideal_seconds(
            PREDICTED_REQUESTS, per_10s, 10.0, latency_s=1.0, concurrency=ALL_AT_ONCE
        )
        rows.append(
            {
                "tier": tier,
                "limit": f"{per_10s}/10",
                "ideal_s": round(ideal, 1),
                "predicted_s": round(ideal / share_at_1s, 1) if share_at_1s else None,
            }
        )
    return rows


def measure(quick: bool, say: Any = None) -> dict[str, Any]:
    """The section's data for ``results.json``."""
    # 2,400 requests a latency (about two minutes each): a 30 s run measured mostly its own
    # start (the in-flight target's first guess, the first window's holds) and end, not the
    # pace a long sync keeps (2 s answers: 0.833 over 600 requests, 0.973 over 2,400).
    count = 2_000 if quick else 240_000
    rows = []
    for latency in LATENCIES:
        row = pacing_row(latency, count)
        rows.append(row)
        if say:
            say(
                f"  {latency:g} s: share {row['share_of_budget']:.3f}, 429s "
                f"{row['rate_limited']}, lost {row['lost']}, peak in flight {row['peak_in_flight']}"
            )
    conflict = conflict_run(*((1_000, 600) if quick else (4_000, 2_500)))
    if say:
        say(
            f"  conflicts: written {conflict['written_pct']}%, lost {conflict['lost']}, "
            f"stale {conflict['stale']}, share {conflict['share_of_budget']:.3f}"
        )
    at_1s = next(r["share_of_budget"] for r in rows if r["latency_s"] == 1.0)
    return {
        "limit": LIMIT,
        "window_s": WINDOW_S,
        "quick": quick,
        "rows": rows,
        "conflicts": conflict,
        "predictions": predictions(at_1s),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    started = time.perf_counter()
    data = measure(args.quick, say=lambda text: print(text, file=sys.stderr, flush=True))
    text = json.dumps(data, indent=2)
    print(text)
    print(f"{time.perf_counter() - started:.0f} s", file=sys.stderr)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
