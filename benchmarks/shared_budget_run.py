"""Shared budget: four ``postal-mail upsert`` processes on one app, with and without Redis.

Run by hand, or by ``make bench`` (section ``shared_budget``)::

    .venv/bin/python -m benchmarks.shared_budget_run [--records 25000] [--window 2] [--json OUT]

Four processes, each with its own ``--records`` records (ids of its own), run at once against
one fake HubSpot (a child process) that enforces a rolling window of ``--limit`` requests per
``--window`` seconds for the token they all use. Each is told that budget (``--rate-limit``).
Run once as four independent jobs, once with ``--shared-budget`` naming one ``redis-server``
(started on a free loopback port). HubSpot's window is 10 s; the default here is 2 s, with the
fake's answer time scaled alike (0.2 s, about 1 s at HubSpot's scale), so a run takes ~20 s.

Measured, per mode:

- *share of budget*: the least time any client could move all the requests through the budget
  (``stats.ideal_seconds``: every window full from the start) over the time the four took,
  from the first run's start to the last one's end (each run's own ``elapsed_s``; interpreter
  start-up left out). Beside it, the rate reading: requests the fake's window counted per second
  over the budget's rate (flattering: the first window's burst comes free);
- 429s, as a count and a share of all requests sent;
- records lost: input records whose id the fake does not hold with the input's value;
- wall time: from launching the four processes to the last one's exit.

``--pyrate`` adds a third row: the four jobs with ``--shared-budget`` served by pyrate-limiter's
Redis bucket instead of the project's window (``benchmarks/pyrate_window.py``, measurement only;
needs the ``bench`` dependency group).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from benchmarks.echo_server import ROOT
from benchmarks.redis_server import running_redis
from benchmarks.stats import ideal_seconds

TOKEN = "pat-na1-00000000-0000-4000-8000-00000000beef"  # noqa: S105 - the fake's, public
POSTAL_MAIL = str(Path(sys.executable).with_name("postal-mail"))
BATCH = 100
PROCESSES = 4
CONCURRENCY = 10  # each run's default

FAKE = """
import sys
from hubspot_postal_mail.fake import FakeConfig, FakeHubSpot
from hubspot_postal_mail.fake._server import serve_forever
limit, window, latency = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
config = FakeConfig(rate_limit=(limit, window), daily_limit=None, latency_seconds=latency)
def announce(running):
    print(running.base_url, flush=True)
serve_forever(FakeHubSpot(config), host="127.0.0.1", port=0, log_level="critical",
              announce=announce)
"""


def write_inputs(folder: Path, processes: int, records: int) -> list[Path]:
    paths = []
    for p in range(processes):
        path = folder / f"job{p}.jsonl"
        with path.open("w", encoding="utf-8") as f:
            for i in range(records):
                row = {"external_id": f"J{p}-{i:06d}", "hs_postal_mail_body": f"job {p} #{i}"}
                f.write(json.dumps(row) + "\n")
        paths.append(path)
    return paths


def start_fake(limit: int, window: float, latency: float) -> tuple[subprocess.Popen[str], str]:
    fake = subprocess.Popen(  # noqa: S603 - our interpreter, our script
        [sys.executable, "-c", FAKE, str(limit), str(window), str(latency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert fake.stdout is not None
    base_url = fake.stdout.readline().strip()
    if not base_url.startswith("http://127.0.0.1:"):
        fake.kill()
        raise SystemExit(f"the fake did not start: {base_url!r}")
    return fake, base_url


def run_mode(
    inputs: list[Path],
    *,
    limit: int,
    window: float,
    latency: float,
    redis_url: str | None,
    pyrate: bool = False,
    pyrate_margin: float = 0.0,
) -> dict[str, Any]:
    """The four jobs at once against a fresh fake; the figures for one table row."""
    fake, base_url = start_fake(limit, window, latency)
    try:
        # pyrate: the same command, its shared window swapped (benchmarks/pyrate_window.py)
        command = [sys.executable, "-m", "benchmarks.pyrate_window"] if pyrate else [POSTAL_MAIL]
        argv = [
            *command,
            "upsert",
            "",
            "--id-property",
            "external_id",
            "--base-url",
            base_url,
            "--rate-limit",
            f"{limit}/{window:g}",
            "--json",
        ] + (["--shared-budget", redis_url] if redis_url else [])
        env = {"HUBSPOT_ACCESS_TOKEN": TOKEN, "PATH": ""} | (
            {"PYTHONPATH": str(ROOT), "PYRATE_MARGIN": str(pyrate_margin)} if pyrate else {}
        )
        launched = time.time()
        jobs = []
        for path in inputs:
            argv[len(command) + 1] = str(path)
            jobs.append(
                subprocess.Popen(  # noqa: S603 - our own command line
                    list(argv), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
                )
            )
        summaries, ends = [], []
        for job in jobs:
            out, err = job.communicate(timeout=3600)
            ends.append(time.time())
            if job.returncode not in (0, 1):
                raise SystemExit(f"a job exited {job.returncode}: {err[-2000:]}")
            summaries.append(json.loads(out.strip().splitlines()[-1]))
        wall = max(ends) - launched
        stored = httpx.get(f"{base_url}/_fake/records", timeout=120).json()["results"]
    finally:
        fake.terminate()
        fake.wait(10)

    held = {
        r["properties"]["external_id"]: r["properties"].get("hs_postal_mail_body") for r in stored
    }
    lost = 0
    for path in inputs:
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            lost += held.get(row["external_id"]) != row["hs_postal_mail_body"]
    requests = sum(s["requests"] for s in summaries)
    rate_limited = sum(s["rate_limited"] for s in summaries)
    counted = requests - rate_limited  # the fake's window counts what it does not refuse
    span = max(ends) - min(end - s["elapsed_s"] for end, s in zip(ends, summaries, strict=True))
    needed = sum(-(-s["total"] // BATCH) for s in summaries)
    ideal = ideal_seconds(
        needed, limit, window, latency_s=latency, concurrency=CONCURRENCY * len(inputs)
    )
    return {
        "mode": "shared budget, pyrate-limiter's window"
        if pyrate
        else "shared budget (Redis)"
        if redis_url
        else "independent jobs",
        "shared": bool(redis_url),
        **({"pyrate_margin": pyrate_margin} if pyrate else {}),
        "records": sum(s["total"] for s in summaries),
        "requests": requests,
        "rate_limited": rate_limited,
        "rate_limited_pct": round(100 * rate_limited / requests, 2) if requests else 0.0,
        "retries": sum(s["retries"] for s in summaries),
        "lost": lost,
        "failed": sum(s["failed"] for s in summaries),
        "span_s": round(span, 2),
        "wall_s": round(wall, 2),
        "ideal_s": round(ideal, 2),
        "share_of_budget": round(ideal / span, 3),
        "rate_share": round(counted / span / (limit / window), 3),
        "fallbacks": sum(1 for s in summaries if s.get("shared_budget_fallback")),
    }


def measure(
    records: int,
    *,
    limit: int = 100,
    window: float = 2.0,
    latency: float = 0.2,
    pyrate: bool = False,
) -> dict[str, Any]:
    """Both modes on the same inputs (and pyrate-limiter's window: ``pyrate``); the section's
    data for ``results.json``."""
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        inputs = write_inputs(Path(tmp), PROCESSES, records)
        redis = stack.enter_context(running_redis())
        rows = [
            run_mode(inputs, limit=limit, window=window, latency=latency, redis_url=None),
            run_mode(inputs, limit=limit, window=window, latency=latency, redis_url=redis.url),
        ]
        if pyrate:
            rows.append(
                run_mode(
                    inputs,
                    limit=limit,
                    window=window,
                    latency=latency,
                    redis_url=redis.url,
                    pyrate=True,
                )
            )
    return {
        "processes": PROCESSES,
        "records_per_process": records,
        "limit": limit,
        "window_s": window,
        "latency_s": latency,
        "rows": rows,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=25_000, help="records per process")
    parser.add_argument("--limit", type=int, default=100, help="requests per window")
    parser.add_argument("--window", type=float, default=2.0, help="window, seconds")
    parser.add_argument("--latency", type=float, default=0.2, help="fake answer time, seconds")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--pyrate", action="store_true", help="add a row with pyrate-limiter's Redis window"
    )
    args = parser.parse_args()
    if str(ROOT) not in sys.path:  # pragma: no cover - run from elsewhere
        sys.path.insert(0, str(ROOT))
    data = measure(
        args.records,
        limit=args.limit,
        window=args.window,
        latency=args.latency,
        pyrate=args.pyrate,
    )
    text = json.dumps(data, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
