"""The sync state's own cost: fingerprinting, lookups, confirms, bytes per id, peak memory.

What an unchanged rerun adds per record, measured without the rest of the engine: fingerprint
each record's properties, look its id up in a state that already holds every id, compare. The
records are the benchmark's synthetic postal mail (``benchmarks/records.py``), made lazily in
chunks, so the peak memory is the state's and this loop's, not a list of a million records.

Run: ``python -m benchmarks.state_cost [--records N] [--json]``. Figures are CPU seconds
(``time.process_time``) as well as wall seconds: on a loaded machine wall time is mostly
waiting for a CPU. Nothing here is asserted; it prints what it measured.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from benchmarks.memory import peak_rss_mb
from benchmarks.records import ID_PROPERTY, record, write_jsonl
from hubspot_postal_mail._fingerprint import fingerprint
from hubspot_postal_mail._readers import read_jsonl
from hubspot_postal_mail._records import UpsertInput, normalise
from hubspot_postal_mail._state import LOOKUP_CHUNK, State

CHUNK = LOOKUP_CHUNK
BASE_URL = "http://127.0.0.1:9"


def chunks(count: int, size: int = CHUNK) -> Iterator[list[tuple[str, dict[str, str]]]]:
    """``(id, properties)`` pairs, ``size`` at a time, as the engine would see them."""
    for start in range(0, count, size):
        out = []
        for i in range(start, min(start + size, count)):
            rec = record(i)  # properties as normalise() makes them: the id property too
            out.append((rec[ID_PROPERTY], rec))
        yield out


def timed(work: Callable[[], Any]) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def measure(count: int, folder: Path) -> dict[str, Any]:
    path = folder / "state.sqlite"
    out: dict[str, Any] = {"records": count, "baseline_mb": round(peak_rss_mb(), 1)}
    # Making the records alone, so the figures below can be read with and without it.
    wall, cpu, _ = timed(lambda: sum(len(c) for c in chunks(count)))
    out["make_records"] = {"wall_s": wall, "cpu_s": cpu}

    in_confirm = [0.0, 0.0]  # wall, CPU spent inside State.confirm alone

    def fill() -> None:
        with State(path, base_url=BASE_URL, id_property=ID_PROPERTY) as state:
            for n, chunk in enumerate(chunks(count, 100)):  # one confirm per 100-record batch
                rows = [(key, fingerprint(props), str(10**9 + n)) for key, props in chunk]
                wall, cpu, _ = timed(functools.partial(state.confirm, rows))
                in_confirm[0] += wall
                in_confirm[1] += cpu

    wall, cpu, _ = timed(fill)
    out["first_run_confirm"] = {
        "wall_s": wall,
        "cpu_s": cpu,
        "records_per_s_wall": rate(count, wall),
        "records_per_s_cpu": rate(count, cpu),
        "note": "includes making and fingerprinting the records; one transaction per 100",
    }
    out["confirm_only"] = {
        "wall_s": in_confirm[0],
        "cpu_s": in_confirm[1],
        "rows_per_s_wall": rate(count, in_confirm[0]),
        "rows_per_s_cpu": rate(count, in_confirm[1]),
        "note": "time inside State.confirm, 100 rows per transaction",
    }
    out["file_bytes"] = path.stat().st_size
    out["bytes_per_id"] = path.stat().st_size / count

    def only_fingerprints() -> int:
        n = 0
        for chunk in chunks(count):
            for _key, props in chunk:
                fingerprint(props)
                n += 1
        return n

    wall, cpu, _ = timed(only_fingerprints)
    out["fingerprint"] = {"wall_s": wall, "cpu_s": cpu}

    Chunk = list[tuple[str, dict[str, str]]]

    def unchanged_rerun(alike: Callable[[Chunk], int]) -> int:
        return sum(alike(chunk) for chunk in chunks(count))

    with State(path, base_url=BASE_URL, id_property=ID_PROPERTY) as state:
        db = state._conn  # the alternatives, measured here only

        def compare_in_sqlite(chunk: Chunk) -> int:
            """What the engine does: SQLite compares and returns the positions that differ."""
            prints = [fingerprint(props) for _, props in chunk]
            return len(chunk) - len(state.changed([key for key, _ in chunk], prints))

        def lookup_in_chunks(chunk: Chunk) -> int:
            """The earlier way: each row's fingerprint back into Python, compared there."""
            known = state.lookup([key for key, _ in chunk])
            return sum(known.get(key) == fingerprint(props) for key, props in chunk)

        def lookup_per_id(chunk: Chunk) -> int:
            same = 0
            for key, props in chunk:
                row = db.execute(
                    "SELECT fingerprint FROM confirmed WHERE id = ?", (key,)
                ).fetchone()
                same += row is not None and row[0] == fingerprint(props)
            return same

        for alike in (compare_in_sqlite, lookup_in_chunks, lookup_per_id):
            wall, cpu, same = timed(functools.partial(unchanged_rerun, alike))
            out[alike.__name__] = {
                "wall_s": wall,
                "cpu_s": cpu,
                "unchanged": same,
                "records_per_s_wall": rate(count, wall),
                "records_per_s_cpu": rate(count, cpu),
                "note": "make records + fingerprint + look up + compare",
            }
        wall, cpu, _ = timed(state.summary)
        out["summary_s"] = wall

        def from_jsonl() -> int:
            """Read, parse and normalise a JSONL file, then fingerprint, look up, compare."""
            same = 0
            pending: list[UpsertInput] = []

            def decide() -> int:
                prints = [fingerprint(r.properties) for r in pending]
                hits = len(pending) - len(state.changed([r.id for r in pending], prints))
                pending.clear()
                return hits

            for line in read_jsonl(source):
                rec = normalise(line, id_property=ID_PROPERTY, line=line.line)
                if isinstance(rec, UpsertInput):
                    pending.append(rec)
                    if len(pending) == CHUNK:
                        same += decide()
            return same + decide()

        source = write_jsonl(folder / "input.jsonl", count)
        wall, cpu, same = timed(from_jsonl)
        out["unchanged_from_jsonl"] = {
            "wall_s": wall,
            "cpu_s": cpu,
            "unchanged": same,
            "records_per_s_wall": rate(count, wall),
            "records_per_s_cpu": rate(count, cpu),
            "note": "read_jsonl + normalise + fingerprint + compare in SQLite; no engine",
        }

        def forget_and_confirm_1pct() -> None:
            changed = [f"PM-{i:010d}" for i in range(0, count, 100)]
            for start in range(0, len(changed), 100):
                batch = changed[start : start + 100]
                state.forget(batch)
                state.confirm([(key, b"\x00" * 16, "1") for key in batch])

        wall, cpu, _ = timed(forget_and_confirm_1pct)
        out["rerun_1pct_forget_confirm"] = {
            "wall_s": wall,
            "cpu_s": cpu,
            "batches": -(-count // 100 // 100),
            "note": "1% of ids: forget (fsync'd) then confirm, per 100-id batch",
        }
    out["peak_mb"] = round(peak_rss_mb(), 1)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.state_cost", description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    parser.add_argument("--dir", type=Path, default=None, help="where to put the state file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        result = measure(args.records, Path(tmp))
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    n = result["records"]
    make = result["make_records"]["cpu_s"]
    print(
        f"records: {n:,}; peak RSS {result['peak_mb']} MB (after imports {result['baseline_mb']})"
    )
    print(f"state file: {result['file_bytes'] / 2**20:.1f} MiB, {result['bytes_per_id']:.0f} B/id")
    fp = result["fingerprint"]["cpu_s"] - make
    print(f"fingerprint: {fp / n * 1e6:.2f} us/record CPU ({rate(n, fp):,.0f}/s)")
    first = result["first_run_confirm"]
    own = first["cpu_s"] - make
    print(
        f"first run (make+fingerprint+confirm per 100): {first['records_per_s_cpu']:,.0f}/s CPU"
        f", {rate(n, own):,.0f}/s without making the records"
    )
    print(f"making the records alone: {make / n * 1e6:.2f} us/record CPU")
    r = result["confirm_only"]
    print(
        f"confirm alone (100 rows a transaction): {r['rows_per_s_cpu']:,.0f} rows/s CPU, "
        f"{r['rows_per_s_wall']:,.0f}/s wall"
    )
    for name in ("compare_in_sqlite", "lookup_in_chunks", "lookup_per_id"):
        r = result[name]
        own = r["cpu_s"] - make
        print(
            f"unchanged rerun, {name}: {r['records_per_s_cpu']:,.0f} records/s CPU with making "
            f"the records, {rate(n, own):,.0f}/s without ({own / n * 1e6:.2f} us/record); "
            f"{r['records_per_s_wall']:,.0f}/s wall; unchanged {r['unchanged']:,}"
        )
    r = result["unchanged_from_jsonl"]
    print(
        f"unchanged rerun from a JSONL file (read, normalise, fingerprint, lookup): "
        f"{r['records_per_s_cpu']:,.0f} records/s CPU, {r['records_per_s_wall']:,.0f}/s wall; "
        f"unchanged {r['unchanged']:,}"
    )
    r = result["rerun_1pct_forget_confirm"]
    print(f"1% rerun forget+confirm: {r['wall_s']:.2f} s wall for {r['batches']} batches")
    return 0


if __name__ == "__main__":
    sys.exit(main())
