"""Resilience run: 100,000 records through a fake HubSpot that fails, drops and rate-limits.

Run by hand (not part of ``make test``)::

    .venv/bin/python -m benchmarks.resilience_run [--records 100000] [--rate 20] [--json OUT]

The fake runs in a child process (so the peak RSS measured is the client's alone) with a
rolling-window limit of ``--rate`` requests per second, ``--fault-rate`` 5xx answers and
``--drop-rate`` dropped connections. Ids repeat across the input. Midway, a second client
with the same token spends part of the budget for a few seconds, so some of our requests meet
429s and the Remaining headers. Measured, not estimated:

- records written / lost / holding a stale value: every input record must have a final report
  entry (else it is lost), and every id on the server must hold the value of its last
  occurrence in the input (else it is stale);
- the achieved request rate as a fraction of the budget: all our attempts per second / rate
  (faults and 429s included, which the fake's window does not count), only those its window
  counted, and ours plus the competitor's counted ones (the app's whole budget);
- the client's peak RSS (``VmHWM``, as ``benchmarks/memory.py`` reads it: ``ru_maxrss`` would
  include the peak of whatever process started this one).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from benchmarks.memory import peak_rss_mb
from hubspot_postal_mail import UPSERT_PATH, Outcome, RecordResult, upsert_all

TOKEN = "pat-na1-00000000-0000-4000-8000-00000000beef"  # noqa: S105 - the fake's, public
COMPETITOR_TOKEN = TOKEN  # same app: it shares our rolling window

FAKE = """
import sys
from hubspot_postal_mail.fake import FakeConfig, FakeHubSpot
from hubspot_postal_mail.fake._server import serve_forever
rate, fault, drop, latency, seed = sys.argv[1:6]
config = FakeConfig(
    rate_limit=(int(rate), 1.0), daily_limit=None, fault_rate=float(fault),
    drop_rate=float(drop), latency_seconds=float(latency), seed=int(seed),
)
def announce(running):
    print(running.base_url, flush=True)
serve_forever(FakeHubSpot(config), host="127.0.0.1", port=0, log_level="critical",
              announce=announce)
"""


def records(n: int, distinct: int, seed: int) -> Iterator[dict[str, str]]:
    """``n`` records over ``distinct`` ids in random order, so ids repeat across the input."""
    rng = random.Random(seed)  # noqa: S311 - reproducible data, not secrets
    for i in range(n):
        yield {"external_id": f"PM-{rng.randrange(distinct):06d}", "hs_postal_mail_body": f"v{i}"}


def last_values(n: int, distinct: int, seed: int) -> dict[str, str]:
    last: dict[str, str] = {}
    for record in records(n, distinct, seed):
        last[record["external_id"]] = record["hs_postal_mail_body"]
    return last


def counted(answer: httpx.Response) -> bool:
    """Whether the fake's rolling window counted this answer's request.

    It counts what passes its limiter: those answers carry the rate-limit headers, and are not
    429s (refused ones do not spend the window). Injected 5xx answers and dropped connections
    come before the limiter and carry no headers.
    """
    return answer.status_code != 429 and "X-HubSpot-RateLimit-Remaining" in answer.headers


class CountingTransport(httpx.AsyncHTTPTransport):
    """The innermost transport of our client: counts the attempts the fake's window counted."""

    def __init__(self) -> None:
        super().__init__()
        self.counted = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        answer = await super().handle_async_request(request)
        self.counted += counted(answer)
        return answer


def compete(base_url: str, stop: threading.Event, sent: list[int]) -> None:
    """Another client of the same app: 5 requests per second for as long as ``stop`` is unset."""
    body = {"inputs": [{"id": "OTHER-1", "idProperty": "external_id", "properties": {}}]}
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        while not stop.wait(0.2):
            try:
                answer = client.post(UPSERT_PATH, json=body, timeout=5)
                sent[0] += counted(answer)
            except httpx.HTTPError:
                pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--distinct", type=int, default=60_000, help="distinct ids")
    parser.add_argument("--rate", type=int, default=20, help="budget: requests per second")
    parser.add_argument("--fault-rate", type=float, default=0.05)
    parser.add_argument("--drop-rate", type=float, default=0.05)
    parser.add_argument("--latency", type=float, default=0.05, help="fake latency, seconds")
    parser.add_argument(
        "--concurrency", type=lambda v: v if v == "auto" else int(v), default="auto"
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--no-competitor", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    fake = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [
            sys.executable,
            "-c",
            FAKE,
            str(args.rate),
            str(args.fault_rate),
            str(args.drop_rate),
            str(args.latency),
            str(args.seed),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert fake.stdout is not None
        base_url = fake.stdout.readline().strip()
        if not base_url.startswith("http://127.0.0.1:"):
            raise SystemExit(f"the fake did not start: {base_url!r}")

        outcomes: dict[int, Outcome] = {}

        def keep(result: RecordResult) -> None:
            outcomes[result.line] = result.outcome

        stop = threading.Event()
        competitor_sent = [0]
        competitor = threading.Thread(target=compete, args=(base_url, stop, competitor_sent))

        def start_competitor_later() -> None:
            if not stop.wait(15):
                competitor.start()
                stop.wait(10)
                stop.set()

        timer = threading.Thread(target=start_competitor_later)
        if not args.no_competitor:
            timer.start()
        os.environ["HUBSPOT_ACCESS_TOKEN"] = TOKEN
        ours = CountingTransport()
        report = upsert_all(
            records(args.records, args.distinct, args.seed),
            id_property="external_id",
            base_url=base_url,
            rate_limit=f"{args.rate}/1",
            concurrency=args.concurrency,
            report=keep,
            transport=ours,
        )
        stop.set()
        if timer.is_alive():
            timer.join()
        if competitor.is_alive():
            competitor.join()

        peak_rss_mib = peak_rss_mb()
        stored = httpx.get(f"{base_url}/_fake/records", timeout=60).json()["results"]
    finally:
        fake.terminate()
        fake.wait(10)

    server = {
        r["properties"]["external_id"]: r["properties"].get("hs_postal_mail_body")
        for r in stored
        if r["properties"].get("external_id", "").startswith("PM-")
    }
    expected = last_values(args.records, args.distinct, args.seed)
    lost = args.records - len(outcomes)
    failed = sum(1 for o in outcomes.values() if o is Outcome.FAILED)
    stale = sum(1 for key, value in expected.items() if server.get(key) != value)
    missing_ids = sum(1 for key in expected if key not in server)
    written_ids = len(expected) - stale
    achieved = report.requests / report.elapsed_s  # every attempt, faults and 429s included
    app_total = ours.counted + competitor_sent[0]  # what the app's window counted, both clients
    figures: dict[str, Any] = {
        "records": args.records,
        "distinct_ids": len(expected),
        "ids_holding_last_value_pct": round(100 * written_ids / len(expected), 3),
        "records_lost": lost,
        "records_failed": failed,
        "ids_stale": stale,
        "ids_missing": missing_ids,
        "summary": report.summary(),
        "budget_rps": args.rate,
        "achieved_rps": round(achieved, 3),
        "achieved_fraction_of_budget": round(achieved / args.rate, 3),
        "counted_requests": ours.counted,
        "counted_fraction_of_budget": round(ours.counted / report.elapsed_s / args.rate, 3),
        "app_fraction_of_budget": round(app_total / report.elapsed_s / args.rate, 3),
        "competitor_counted_requests": competitor_sent[0],
        "peak_rss_mib": round(peak_rss_mib, 1),
        "fault_rate": args.fault_rate,
        "drop_rate": args.drop_rate,
        "latency_s": args.latency,
        "concurrency": args.concurrency,
    }
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    ok = lost == 0 and stale == 0 and failed == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
