"""Inputs: records/s and peak RSS of reading + checking Parquet files and DataFrames.

- A Parquet file of 10,000, 100,000 and 1,000,000 rows through the command line's dry run
  (``postal-mail upsert FILE --id-property external_id --dry-run``), in a fresh process each.
- A pandas and a polars DataFrame of the same sizes through the reading and normalising path
  (``records_from(frame)`` into the dry run's ``plan``), in a fresh process each; the frame is
  built first, then the peak is reset (``/proc/self/clear_refs``), so ``baseline`` is the
  process holding the frame and ``added`` is what reading it cost.

Peak RSS is ``VmHWM`` (see ``benchmarks/memory.py`` for why not ``ru_maxrss``). Records/s is
given by wall time and by CPU time: on a loaded machine the CPU figure is the steadier one.
Goals (issue 14): at least 100,000 records/s, RSS under 150 MB and flat from 10,000 rows to
1,000,000.

Usage: ``python -m benchmarks.inputs_run [--quick]``; writes ``results/inputs.json`` and
``results/inputs.md``. Child: ``python -m benchmarks.inputs_run --child KIND ARG``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.memory import peak_rss_mb

RESULTS = Path(__file__).resolve().parent / "results"
SIZES = (10_000, 100_000, 1_000_000)
ID_PROPERTY = "external_id"
START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def columns(n: int) -> dict[str, Any]:
    """Postal mail as a warehouse holds it: typed, a few nulls; deterministic."""
    import numpy as np

    rows = np.arange(n)
    return {
        ID_PROPERTY: [f"PM-{i:09d}" for i in range(n)],
        "hs_timestamp": rows * 60_000 + START_MS,  # ms, made a UTC timestamp below
        "hs_postal_mail_body": [
            f"Invoice posted to the Leeds office, ref {i:06d}" for i in range(n)
        ],
        "hubspot_owner_id": (rows % 4 + 7001).astype("int64"),
        "hs_attachment_ids": [None if i % 3 == 0 else "1234567890;2345678901" for i in range(n)],
    }


def write_parquet(path: Path, n: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = columns(n)
    data["hs_timestamp"] = pa.array(data["hs_timestamp"], pa.timestamp("ms", tz="UTC"))
    pq.write_table(pa.table(data), path)  # pyarrow's defaults: up to 1Mi rows per row group


def frame(kind: str, n: int) -> Any:
    data = columns(n)
    if kind == "pandas":
        import pandas as pd

        table = pd.DataFrame(data)
        table["hs_timestamp"] = pd.to_datetime(table["hs_timestamp"], unit="ms", utc=True)
        return table
    import polars as pl

    table = pl.DataFrame(data)
    return table.with_columns(
        pl.from_epoch("hs_timestamp", time_unit="ms").dt.replace_time_zone("UTC")
    )


def reset_peak_rss() -> float:
    """Forget the peak so far (Linux: ``clear_refs`` 5) and return the resident set now, MB."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return peak_rss_mb()


def child(kind: str, arg: str) -> dict[str, Any]:
    """In a fresh process: one measurement, as a dict."""
    from hubspot_postal_mail import UpsertSettings
    from hubspot_postal_mail._dry_run import plan
    from hubspot_postal_mail._readers import records_from

    if kind == "cli":
        from hubspot_postal_mail._cli import main  # pyarrow is imported by the run, as usual

        args = ["upsert", arg, "--id-property", ID_PROPERTY, "--dry-run", "--json"]
        baseline, started, cpu = peak_rss_mb(), time.perf_counter(), time.process_time()
        out = io.StringIO()
        with (
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(io.StringIO()),
            contextlib.suppress(SystemExit),
        ):
            main(args, standalone_mode=False)
        summary = json.loads(out.getvalue())
        records, failed = summary["total"], summary["failed"]
    else:
        import pyarrow  # noqa: F401 - a library's cost, not the reading's (pandas loads it too)

        table = frame(kind, int(arg))
        gc.collect()
        baseline = reset_peak_rss()  # building the frame is not reading it
        started, cpu = time.perf_counter(), time.process_time()
        lines = records_from(table, id_property=ID_PROPERTY)
        assert lines is not None
        report = plan(lines, UpsertSettings(id_property=ID_PROPERTY)).report
        records, failed = report.total, report.failed
    elapsed, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    return {
        "records": records,
        "failed": failed,
        "elapsed_s": round(elapsed, 2),
        "cpu_s": round(cpu_s, 2),
        "records_per_s": round(records / elapsed),
        "records_per_cpu_s": round(records / cpu_s),
        "baseline_mb": round(baseline, 1),
        "peak_mb": round(peak_rss_mb(), 1),
        "added_mb": round(peak_rss_mb() - baseline, 1),
    }


def _run_child(kind: str, arg: str) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "benchmarks.inputs_run", "--child", kind, arg],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def measure(sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="inputs-bench-") as folder:
        for n in sizes:
            path = Path(folder) / f"mail-{n}.parquet"
            write_parquet(path, n)
            size_mb = path.stat().st_size / 2**20
            rows.append(
                {"input": "Parquet, CLI --dry-run", "rows": n, "file_mb": round(size_mb, 1)}
                | _run_child("cli", str(path))
            )
            _say(rows[-1])
            path.unlink()
        for kind in ("pandas", "polars"):
            for n in sizes:
                rows.append(
                    {"input": f"{kind} DataFrame, records_from + plan", "rows": n}
                    | _run_child(kind, str(n))
                )
                _say(rows[-1])
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| input | rows | records/s (wall) | records/s (CPU) | baseline MB | peak RSS MB "
        "| added MB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['input']} | {r['rows']:,} | {r['records_per_s']:,} | {r['records_per_cpu_s']:,} "
            f"| {r['baseline_mb']} | {r['peak_mb']} | {r['added_mb']} |"
        )
    return "\n".join(lines) + "\n"


def _say(text: object) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.inputs_run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10,000 rows only: a smoke run")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "ARG"), help=argparse.SUPPRESS)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(*args.child)))
        return 0
    rows = measure(SIZES[:1] if args.quick else SIZES)
    meta = {"cpus": os.cpu_count(), "load": os.getloadavg()[0], "quick": args.quick}
    if not args.quick:
        args.results.mkdir(parents=True, exist_ok=True)
        (args.results / "inputs.json").write_text(
            json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n"
        )
        (args.results / "inputs.md").write_text(
            "# Inputs: Parquet and DataFrames\n\n" + markdown(rows)
        )
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
