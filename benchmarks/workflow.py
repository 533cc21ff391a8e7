"""Cost of our own workflow: wall time of generation, the drift check and each ``make test`` stage.

The underlying commands are timed, not the make targets, so that ``uv sync`` is not counted
(and cannot change the environment under a running benchmark). Every stage runs cold, as in
CI: no ruff or mypy cache, no pytest cache. Generation runs in a temporary
copy of ``scripts/``, ``openapi/`` and ``generated_client/``: timing ``make generate`` must not
rewrite the working tree. The other stages only read the tree.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.echo_server import ROOT

# A runaway test must not take the machine down with the benchmark.
_MEMORY_LIMIT = 8 * 2**30
_TIMEOUT_S = 900.0


@dataclass(frozen=True)
class Stage:
    name: str  # as the Makefile calls it
    command: str  # as the Makefile runs it
    argv: tuple[str, ...]  # what is timed, with this interpreter; {tmp}: a scratch folder
    copy: bool = False  # run in a temporary copy of the generation inputs


@dataclass(frozen=True)
class StageResult:
    name: str
    command: str
    wall_s: float
    exit_code: int | None  # None: stopped at the time limit


STAGES = (
    Stage(
        "make generate",
        "python -m scripts.generate generate",
        ("-m", "scripts.generate", "generate"),
        copy=True,
    ),
    Stage(
        "make check-generated",
        "python -m scripts.generate check",
        ("-m", "scripts.generate", "check"),
        copy=True,
    ),
    Stage("lint: ruff check", "ruff check .", ("-m", "ruff", "check", "--no-cache", ".")),
    Stage(
        "lint: ruff format --check",
        "ruff format --check .",
        ("-m", "ruff", "format", "--check", "--no-cache", "."),
    ),
    Stage("typecheck: mypy", "mypy", ("-m", "mypy", "--cache-dir", "{tmp}/mypy-cache")),
    Stage("pytest", "pytest", ("-m", "pytest", "-q", "-p", "no:cacheprovider")),
)


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (_MEMORY_LIMIT, _MEMORY_LIMIT))


def copy_generation_inputs(destination: Path) -> Path:
    """What ``scripts.generate`` reads and writes, copied so that it can run there."""
    ignore = shutil.ignore_patterns("__pycache__", ".ruff_cache", ".mypy_cache")
    for name in ("scripts", "openapi", "generated_client"):
        shutil.copytree(ROOT / name, destination / name, ignore=ignore)
    return destination


def run_stage(stage: Stage, cwd: Path, tmp: Path, timeout_s: float = _TIMEOUT_S) -> StageResult:
    """Wall time of one stage; its output is kept out of the benchmark's own."""
    argv = [sys.executable, *(arg.replace("{tmp}", str(tmp)) for arg in stage.argv)]
    started = time.perf_counter()
    try:
        done = subprocess.run(  # noqa: S603 - fixed commands, our own interpreter
            argv,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=timeout_s,
            preexec_fn=_limit_memory,
            check=False,
        )
        code: int | None = done.returncode
    except subprocess.TimeoutExpired:
        code = None
    return StageResult(stage.name, stage.command, time.perf_counter() - started, code)


def measure(
    stages: tuple[Stage, ...] = STAGES, progress: Callable[[StageResult], None] | None = None
) -> list[StageResult]:
    results = []
    with tempfile.TemporaryDirectory() as work, tempfile.TemporaryDirectory() as tmp:
        copy = copy_generation_inputs(Path(work))
        for stage in stages:
            result = run_stage(stage, copy if stage.copy else ROOT, Path(tmp))
            results.append(result)
            if progress is not None:
                progress(result)
    return results
