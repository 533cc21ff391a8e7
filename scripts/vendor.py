"""Vendor the generated client with a stamp, and check a vendored copy against this repository.

``vendor DEST`` copies ``generated_client/`` (an installable project) to DEST and writes
``VENDORED.json`` there: the client's version, the pin's sha256, this repository's commit and
the sha256 of every file. ``check DEST`` fails, with a diff against this repository's client,
when the copy was edited since it was vendored (its files no longer match the stamp) or is stale
(this repository's client has moved on). A consumer runs the check in their own CI against a
checkout of this repository; it needs only the standard library (``python3 -m scripts.vendor``
from that checkout, or ``make check-vendored DEST=...``).

Usage: python -m scripts.vendor vendor DEST | check DEST [--source REPO]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

from scripts import paths
from scripts.trees import diff_trees, tree

STAMP = "VENDORED.json"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class VendorError(Exception):
    """Something the person running the command must fix first."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _source_commit(root: Path) -> str | None:
    """This repository's commit, marked ``-dirty`` when the client differs from it."""
    try:
        head = subprocess.run(  # noqa: S603
            ["git", "-C", str(root), "rev-parse", "HEAD"],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(  # noqa: S603
            ["git", "-C", str(root), "status", "--porcelain", "--", "generated_client"],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{head}-dirty" if dirty else head


def stamp_for(client: Path, root: Path) -> dict[str, Any]:
    """What a vendored copy of ``client`` (a generated_client/ folder) says about itself."""
    project = tomllib.loads((client / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    files = tree(client)
    return {
        "distribution": project["name"],
        "version": project["version"],
        "spec_sha256": _sha256(files[paths.SHIPPED_SPEC.as_posix()]),
        "source_commit": _source_commit(root),
        "files": {name: _sha256(data) for name, data in files.items()},
    }


def vendor(dest: Path, root: Path) -> dict[str, Any]:
    """Copy the client to ``dest`` (replacing an earlier vendored copy, nothing else)."""
    client = root / paths.GENERATED.name
    if dest.exists():
        if not (dest / STAMP).is_file() and any(dest.iterdir()):
            raise VendorError(f"{dest} exists and is not a vendored copy (no {STAMP})")
        shutil.rmtree(dest)
    stamp = stamp_for(client, root)
    shutil.copytree(client, dest, ignore=shutil.ignore_patterns("__pycache__"))
    (dest / STAMP).write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")
    return stamp


def check(dest: Path, root: Path) -> tuple[list[str], list[str]]:
    """Problems (one line each) and the diff that would bring ``dest`` back to this repository's
    client; both empty when the copy is unedited and current."""
    try:
        stamp = json.loads((dest / STAMP).read_text(encoding="utf-8"))
        recorded: dict[str, str] = stamp["files"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise VendorError(f"{dest}: not a vendored copy ({STAMP} unreadable: {exc})") from None
    have = tree(dest, skip=frozenset({STAMP}))
    problems = [
        f"edited: {name}"
        for name in sorted(have.keys() | recorded.keys())
        if name not in have or _sha256(have[name]) != recorded.get(name)
    ]
    current = stamp_for(root / paths.GENERATED.name, root)
    if current["files"] != recorded:
        problems.append(
            f"stale: vendored {stamp.get('version')} (spec sha256 {stamp.get('spec_sha256')}, "
            f"commit {stamp.get('source_commit')}); this repository has {current['version']} "
            f"(spec sha256 {current['spec_sha256']}, commit {current['source_commit']})"
        )
    if not problems:
        return [], []
    want = tree(root / paths.GENERATED.name)
    return problems, diff_trees(want, have, "vendored", "source")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("command", choices=("vendor", "check"))
    parser.add_argument("dest", type=Path, help="the vendored copy's folder")
    parser.add_argument(
        "--source",
        type=Path,
        default=paths.ROOT,
        help="this repository's root, holding generated_client/ (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "vendor":
            stamp = vendor(args.dest, args.source)
            print(
                f"vendor: {stamp['distribution']} {stamp['version']} (spec sha256 "
                f"{stamp['spec_sha256']}, commit {stamp['source_commit']}) -> {args.dest}"
            )
            return EXIT_OK
        problems, diff = check(args.dest, args.source)
    except (VendorError, OSError) as exc:
        print(f"{args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if problems:
        sys.stdout.writelines(diff)
        for problem in problems:
            print(f"check-vendored: {problem}", file=sys.stderr)
        print(
            f"check-vendored: {args.dest} differs from this repository's client; never edit a "
            "vendored copy: change openapi/ here, `make generate`, then `make vendor` again.",
            file=sys.stderr,
        )
        return EXIT_FAILED
    print(f"check-vendored: {args.dest} is unedited and current")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
