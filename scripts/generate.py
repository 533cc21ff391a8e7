"""Generate ``generated_client/`` from ``openapi/``, or check that the committed copy is current.

Generation is a pure function of the pinned spec, the overlays, the generator config, the
templates and the pinned tool versions; ``openapi/spec.lock`` records the hash of each, so
that a reviewer sees which input moved. ``check`` regenerates into a temporary folder and
fails with a unified diff when the committed client or lock differs.

Usage: python -m scripts.generate [generate|check]
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

from scripts import paths
from scripts.overlay import apply_overlays
from scripts.spec_io import Document, SpecError, dump_json, load_document
from scripts.trees import diff_trees, tree

GENERATOR = "openapi-python-client"
FORMATTER = "ruff"


def merged_spec() -> Document:
    """The pin with every overlay applied: what the generator sees, never what tests check."""
    return apply_overlays(load_document(paths.PIN), paths.overlay_files())


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def lock_document(upstream: dict[str, Any] | None = None) -> dict[str, Any]:
    """The lock for the current inputs; keeps the committed ``upstream`` unless one is given."""
    if upstream is None:
        upstream = read_lock().get("upstream", {})
    inputs = [paths.PIN, paths.GENERATOR_CONFIG, *paths.overlay_files(), *paths.template_files()]
    return {
        "generator": {GENERATOR: version(GENERATOR), FORMATTER: version(FORMATTER)},
        "inputs": {str(p.relative_to(paths.ROOT)): _sha256(p) for p in inputs},
        "upstream": upstream,
    }


def read_lock() -> dict[str, Any]:
    if not paths.LOCK.exists():
        return {}
    data: dict[str, Any] = json.loads(paths.LOCK.read_text(encoding="utf-8"))
    return data


def generate_into(destination: Path) -> None:
    """Run the generator into ``destination`` (which must not exist)."""
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    with tempfile.TemporaryDirectory() as work:
        spec_file = Path(work) / "postal_mail.merged.json"
        spec_file.write_text(dump_json(merged_spec()), encoding="utf-8")
        command = [
            str(bin_dir / GENERATOR),
            "generate",
            "--path",
            str(spec_file),
            "--config",
            str(paths.GENERATOR_CONFIG),
            "--custom-template-path",
            str(paths.TEMPLATES),
            "--meta",
            "uv",
            "--fail-on-warning",
            "--output-path",
            str(destination),
        ]
        result = subprocess.run(  # noqa: S603
            command, env=env, cwd=work, capture_output=True, text=True, check=False
        )
    if result.returncode != 0 or not destination.exists():
        raise SpecError(f"{GENERATOR} failed:\n{result.stdout}\n{result.stderr}")
    # Ship the pinned contract (not the overlaid one) with the client, so that vendored copies
    # and the fake server validate against exactly what the client was generated from.
    shutil.copyfile(paths.PIN, destination / paths.SHIPPED_SPEC)
    (destination / paths.PIN_MODULE).write_text(pin_module(_sha256(paths.PIN)), encoding="utf-8")


def pin_module(sha256: str) -> str:
    """The generated package's record of its contract; the generator knows no file hashes."""
    return (
        '"""The pinned contract this client was generated from (written by scripts/generate.py)."""'
        f'\n\nSPEC_SHA256 = "{sha256}"\n'
    )


def tree_diff(expected: Path, actual: Path) -> list[str]:
    """Unified diff lines turning ``actual`` into ``expected``; empty when identical."""
    return diff_trees(tree(expected), tree(actual), "committed", "regenerated")


def generate() -> None:
    with tempfile.TemporaryDirectory(dir=paths.ROOT) as work:
        fresh = Path(work) / "generated_client"
        generate_into(fresh)
        if paths.GENERATED.exists():
            shutil.rmtree(paths.GENERATED)
        shutil.move(fresh, paths.GENERATED)
    paths.LOCK.write_text(dump_json(lock_document()), encoding="utf-8")


def check() -> list[str]:
    """Problems found, as diff lines; empty when the committed client and lock are current."""
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as work:
        fresh = Path(work) / "generated_client"
        generate_into(fresh)
        problems += tree_diff(fresh, paths.GENERATED)
    want_lock = dump_json(lock_document())
    have_lock = paths.LOCK.read_text(encoding="utf-8") if paths.LOCK.exists() else ""
    if want_lock != have_lock:
        problems += difflib.unified_diff(
            have_lock.splitlines(keepends=True),
            want_lock.splitlines(keepends=True),
            "committed/openapi/spec.lock",
            "expected/openapi/spec.lock",
        )
    return problems


def main(argv: list[str] | None = None) -> int:
    command = (argv if argv is not None else sys.argv[1:] or ["generate"])[0]
    try:
        if command == "generate":
            generate()
            print(f"generated {paths.GENERATED.relative_to(paths.ROOT)}/ and {paths.LOCK.name}")
            return 0
        if command == "check":
            problems = check()
            if problems:
                sys.stdout.writelines(problems)
                print(
                    "\ncheck-generated: generated_client/ or openapi/spec.lock is stale. "
                    "Run `make generate` and commit the result; never edit generated_client/ "
                    "by hand.",
                    file=sys.stderr,
                )
                return 1
            print("check-generated: generated_client/ and openapi/spec.lock are current")
            return 0
    except SpecError as exc:
        print(f"generate: {exc}", file=sys.stderr)
        return 1
    print(f"unknown command {command!r}; use generate or check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
