"""Sync state (issue 12): a nightly file of 1,000,000 records, sent whole, then only changes.

Run by ``make bench`` (section ``sync_state``), or by hand::

    .venv/bin/python -m benchmarks.sync_state_run [--records 1000000] [--json OUT]

A JSONL file of ``--records`` records (``benchmarks/records.py``) is written to a temporary
folder and sent with ``postal-mail upsert FILE --id-property external_id --state S --json``,
a child process per run, to a fake HubSpot in another child process (rate limit 100000/1,
answers at once, so the runtime's work shows, not HubSpot's budget). Three runs on one state
file: the first (every record sent), an unchanged rerun of the same file, and a rerun of a
copy with 1% of the records changed (every hundredth record's body).

Per run: requests and the outcome counts (from ``--json``); *wall*: launch to exit,
interpreter start-up and imports included; *run*: the command's own ``elapsed_s`` (reading,
the state, sending), so records/s is given both ways; the state file's size after the run
(with its write-ahead log, if any is left); peak RSS of the command, its ``VmHWM`` read from
``/proc/PID/status`` every 20 ms while it runs (the high-water mark only grows, so the last
reading is the peak up to then; ``ru_maxrss`` would carry this process's own peak into it).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks.real_conditions_run import running_fake
from benchmarks.records import ID_PROPERTY, record, write_jsonl
from benchmarks.resilience_run import TOKEN

POSTAL_MAIL = str(Path(sys.executable).with_name("postal-mail"))
CHANGED_EVERY = 100  # 1%
POLL_S = 0.02


def edited(count: int) -> Iterator[dict[str, str]]:
    """The same ``count`` records with every hundredth body edited."""
    for i in range(count):
        rec = record(i)
        if i % CHANGED_EVERY == 0:
            rec["hs_postal_mail_body"] += " (corrected)"
        yield rec


def _vm_hwm_kib(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None  # a zombie: its memory is gone


def run_command(argv: list[str]) -> tuple[dict[str, Any], float, float]:
    """One command to its exit: its ``--json`` summary, wall seconds, peak RSS in MB."""
    env = {"HUBSPOT_ACCESS_TOKEN": TOKEN, "PATH": ""}
    started = time.perf_counter()
    child = subprocess.Popen(  # noqa: S603 - our own command line
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak = 0
    while child.poll() is None:
        peak = max(peak, _vm_hwm_kib(child.pid) or 0)
        time.sleep(POLL_S)
    wall = time.perf_counter() - started
    out, err = child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"postal-mail exited {child.returncode}: {err[-2000:]}")
    return json.loads(out.strip().splitlines()[-1]), wall, peak / 1024


def state_bytes(state: Path) -> int:
    """The state file with whatever SQLite keeps beside it (``-wal``, ``-shm``)."""
    return sum(p.stat().st_size for p in state.parent.glob(state.name + "*") if p.is_file())


def measure(count: int, say: Any = None) -> dict[str, Any]:
    """The three runs; the section's data for ``results.json``."""
    rows = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_fake(rate_limit=[100_000, 1.0], daily_limit=None) as base_url,
    ):
        folder = Path(tmp)
        first = write_jsonl(folder / "mail.jsonl", count)
        changed = write_jsonl(folder / "mail-1pct.jsonl", count, edited(count))
        state = folder / "sync.state"
        runs = (("first run", first), ("unchanged rerun", first), ("1% changed", changed))
        for name, path in runs:
            argv = [
                POSTAL_MAIL,
                "upsert",
                str(path),
                "--id-property",
                ID_PROPERTY,
                "--base-url",
                base_url,
                "--rate-limit",
                "100000/1",
                "--state",
                str(state),
                "--json",
            ]
            summary, wall, peak_mb = run_command(argv)
            run_s = float(summary["elapsed_s"])
            row = {
                "run": name,
                "records": summary["total"],
                "requests": summary["requests"],
                "created": summary["created"],
                "updated": summary["updated"],
                "unchanged": summary["unchanged"],
                "failed": summary["failed"],
                "wall_s": round(wall, 2),
                "run_s": round(run_s, 2),
                "records_per_s_wall": round(summary["total"] / wall),
                "records_per_s_run": round(summary["total"] / run_s) if run_s else None,
                "state_mb": round(state_bytes(state) / 2**20, 1),
                "peak_rss_mb": round(peak_mb, 1),
            }
            rows.append(row)
            if say:
                say(
                    f"  {name}: {row['requests']} requests, {row['wall_s']} s wall, "
                    f"{row['run_s']} s run, state {row['state_mb']} MB, "
                    f"RSS {row['peak_rss_mb']} MB"
                )
        startup_s = _startup_s()
    return {"records": count, "changed_every": CHANGED_EVERY, "startup_s": startup_s, "rows": rows}


def _startup_s() -> float:
    """``postal-mail --version``'s wall time: the interpreter and the command's imports."""
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 - our own command line
        [POSTAL_MAIL, "--version"], capture_output=True, check=True, env={"PATH": ""}
    )
    return round(time.perf_counter() - started, 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    data = measure(args.records, say=lambda text: print(text, file=sys.stderr, flush=True))
    text = json.dumps(data, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
