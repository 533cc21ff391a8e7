"""Memory: peak RSS of ``upsert_all`` streaming 10k, 100k and 1M records from JSONL.

Each size runs in a fresh Python process, which reports its peak resident set right after its
imports and at the end, so the table shows what the run itself added. The peak is the
address space's high-water mark, ``VmHWM`` in ``/proc/self/status``: ``ru_maxrss`` would be
wrong here, because Linux carries the parent's peak into a child across fork and exec (it
keeps the larger of the old and the new address space's marks), so every child would
report at least the benchmark runner's own size.

The records go to the local echo server (another process, answering from memory, no pacing in
the way), so a million records take a minute or two, not a day.

Child: ``python -m benchmarks.memory PATH BASE_URL`` prints one JSON object.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.echo_server import ROOT, running_echo_server
from benchmarks.records import write_jsonl

SIZES = (10_000, 100_000, 1_000_000)


@dataclass(frozen=True)
class MemoryResult:
    records: int
    file_mb: float
    baseline_mb: float  # peak RSS after imports, before the run
    peak_mb: float  # peak RSS over the whole process
    ru_maxrss_mb: float  # for comparison: includes the parent's peak (see the module doc)
    elapsed_s: float
    cpu_s: float
    created: int

    @property
    def added_mb(self) -> float:
        return self.peak_mb - self.baseline_mb


def peak_rss_mb() -> float:
    """This address space's peak resident set (VmHWM), else ``ru_maxrss`` off Linux."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # bytes on macOS
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError("no VmHWM in /proc/self/status")


def child(path: str, base_url: str) -> dict[str, float]:
    """Run in the fresh process: stream the file through ``upsert_all``, report the peak."""
    from benchmarks.client_cost import TOKEN
    from benchmarks.records import ID_PROPERTY
    from hubspot_postal_mail import RateLimit, upsert_all
    from hubspot_postal_mail._readers import read_jsonl

    baseline = peak_rss_mb()
    started, cpu = time.perf_counter(), time.process_time()
    report = upsert_all(
        read_jsonl(path),
        id_property=ID_PROPERTY,
        token=TOKEN,
        base_url=base_url,
        rate_limit=RateLimit(1_000_000, 1.0),
    )
    return {
        "baseline_mb": baseline,
        "peak_mb": peak_rss_mb(),
        "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "elapsed_s": time.perf_counter() - started,
        "cpu_s": time.process_time() - cpu,
        "created": report.created,
        "failed": report.failed,
    }


def measure(sizes: Sequence[int] = SIZES) -> list[MemoryResult]:
    """One fresh process per size, against one echo server."""
    results = []
    with tempfile.TemporaryDirectory() as work, running_echo_server() as server:
        for size in sizes:
            path = write_jsonl(Path(work) / f"records-{size}.jsonl", size)
            done = subprocess.run(  # noqa: S603 - our own module, with our own interpreter
                [sys.executable, "-m", "benchmarks.memory", str(path), server.base_url],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            )
            data = json.loads(done.stdout)
            if data["created"] != size:
                raise RuntimeError(f"{size} records: the run wrote {data['created']}")
            results.append(
                MemoryResult(
                    records=size,
                    file_mb=path.stat().st_size / 2**20,
                    baseline_mb=data["baseline_mb"],
                    peak_mb=data["peak_mb"],
                    ru_maxrss_mb=data["ru_maxrss_mb"],
                    elapsed_s=data["elapsed_s"],
                    cpu_s=data["cpu_s"],
                    created=data["created"],
                )
            )
            path.unlink()
    return results


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1], sys.argv[2])))
