"""Update the pinned contract from HubSpot's spec in one step that lands whole or not at all.

Import (keeping our prose), report the changes, refuse breaking ones unless accepted, then
write the pin, bump the client's version by the change class (breaking: major, safe: minor,
no contract change: patch), regenerate the client, write the lock (with the upstream source
and its sha256) and uv.lock (which records the client's version), append the report to
openapi/CHANGES.md and run the contract tests. If any of those steps fails or is interrupted,
every file it touched goes back to its previous bytes.

Usage: python -m scripts.update_spec UPSTREAM [--accept-breaking] [--commit SHA]
(``ACCEPT_BREAKING=1`` in the environment also accepts breaking changes.)
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scripts import generate, paths
from scripts.change_report import Report
from scripts.import_spec import import_document
from scripts.spec_diff import diff_documents
from scripts.spec_io import SpecError, dump_json, dump_yaml, parse_document, read_source

EXIT_OK, EXIT_FAILED, EXIT_REFUSED, EXIT_INTERRUPTED = 0, 1, 3, 130
CHANGES_HEADER = (
    "# Changes to the pinned contract\n\n"
    "One entry per update of `openapi/postal_mail.yaml`, oldest first, each with the change "
    "report that `make update-spec` printed.\n"
)

Step = Callable[[], None]
# The top folder of HubSpot's spec collection (see scripts/check_upstream.py).
COLLECTION_ROOT = "PublicApiSpecs"


# The client's release number in openapi/generator.yaml (the generator's own setting).
_VERSION_LINE = re.compile(r"^(package_version_override: *)(\d+)\.(\d+)\.(\d+) *$", re.MULTILINE)


class StepFailed(Exception):
    """A step after the import failed; the files have been (or are being) restored."""


def run_contract_tests() -> None:
    """The contract suite against the freshly written pin and client, in a fresh interpreter.

    The project's own ``generated_client/`` and ``src/`` go first on the import path, so the
    suite checks the client just generated here even where the environment's installs point
    at another checkout (a copy of the project, a scratch clone sharing a virtualenv).
    """
    command = [sys.executable, "-m", "pytest", "contract_tests", "-q", "-p", "no:cacheprovider"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(project_import_path())}
    result = subprocess.run(command, cwd=paths.ROOT, env=env, check=False)  # noqa: S603
    if result.returncode != 0:
        raise StepFailed(f"pytest exit status {result.returncode}")


def project_import_path() -> list[str]:
    """This project's client, runtime and root, then whatever PYTHONPATH already held."""
    inherited = os.environ.get("PYTHONPATH")
    first = [str(paths.GENERATED), str(paths.ROOT / "src"), str(paths.ROOT)]
    return [*first, *([inherited] if inherited else [])]


def relock() -> None:
    """Lock the workspace again: uv.lock records the client's version, which the update bumped.

    The project's pinned uv (``.tools/bin/uv``) is preferred, so the lock's format does not
    depend on whichever uv is on PATH. A copy of the project without a uv.lock has nothing to do.
    """
    if not (paths.ROOT / "uv.lock").exists():
        return
    pinned = paths.ROOT / ".tools" / "bin" / "uv"
    uv = str(pinned) if pinned.exists() else os.environ.get("UV") or shutil.which("uv")
    if uv is None:
        raise StepFailed("uv not found (run `make sync` first)")
    command = [uv, "lock", "--quiet"]
    result = subprocess.run(  # noqa: S603
        command, cwd=paths.ROOT, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise StepFailed(f"uv lock exit status {result.returncode}: {result.stderr.strip()}")


def regenerate() -> None:
    generate.generate()


def upstream_record(source: str, data: bytes, commit: str | None) -> dict[str, Any]:
    """What the lock says about the upstream revision the pin matches."""
    parts = urllib.parse.urlsplit(source)
    name = source if parts.scheme in ("http", "https") else Path(parts.path or source).name
    local = Path(parts.path or source).parts
    if name != source and COLLECTION_ROOT in local:
        # A document of HubSpot's collection: its path there names the API version.
        name = "/".join(local[local.index(COLLECTION_ROOT) :])
    record: dict[str, Any] = {"source": name, "sha256": hashlib.sha256(data).hexdigest()}
    if commit:
        record["commit"] = commit
    return record


class Snapshot:
    """The bytes of files and folders before an update, to put back on failure."""

    def __init__(self, files: list[Path], folders: list[Path], scratch: Path) -> None:
        self.files = {f: f.read_bytes() if f.exists() else None for f in files}
        self.folders: dict[Path, Path | None] = {}
        for index, folder in enumerate(folders):
            copy = scratch / str(index)
            if folder.exists():
                shutil.copytree(folder, copy, symlinks=True)
            self.folders[folder] = copy if folder.exists() else None

    def restore(self) -> None:
        for file, data in self.files.items():
            if data is None:
                file.unlink(missing_ok=True)
            elif not file.exists() or file.read_bytes() != data:
                file.write_bytes(data)
        for folder, copy in self.folders.items():
            if folder.exists():
                shutil.rmtree(folder)
            if copy is not None:
                shutil.copytree(copy, folder, symlinks=True)


def release_part(report: Report) -> str:
    """Which part of the client's version a pin update moves: semver by change class."""
    if report.breaking:
        return "major"
    return "minor" if report.changes else "patch"


def client_version(config: str) -> tuple[int, int, int]:
    match = _VERSION_LINE.search(config)
    if match is None:
        raise SpecError(f"{paths.GENERATOR_CONFIG.name}: no 'package_version_override: X.Y.Z' line")
    return int(match[2]), int(match[3]), int(match[4])


def bumped(version: tuple[int, int, int], part: str) -> tuple[int, int, int]:
    major, minor, patch = version
    if part == "major":
        return major + 1, 0, 0
    if part == "minor":
        return major, minor + 1, 0
    return major, minor, patch + 1


def with_client_version(config: str, version: tuple[int, int, int]) -> str:
    """``config`` (generator.yaml's text) with another release number, the rest unchanged."""
    text = ".".join(map(str, version))
    return _VERSION_LINE.sub(lambda m: f"{m[1]}{text}", config, count=1)


def changes_entry(
    report: Report,
    record: dict[str, Any],
    *,
    accepted: bool,
    versions: tuple[tuple[int, int, int], tuple[int, int, int]] | None = None,
) -> str:
    today = datetime.now(UTC).date().isoformat()
    facts = [f"`{record['source']}`", f"sha256 `{record['sha256']}`"]
    if "commit" in record:
        facts.append(f"commit `{record['commit']}`")
    lines = [f"## {today}: {record['source']}", "", "Upstream: " + ", ".join(facts) + "."]
    if versions is not None:
        old, new = (".".join(map(str, v)) for v in versions)
        lines.append(f"Client `hubspot-postal-mail-client` {old} → {new} ({release_part(report)}).")
    if report.breaking and accepted:
        lines.append("Breaking changes accepted (`ACCEPT_BREAKING=1`).")
    return "\n".join([*lines, "", report.to_markdown(heading="###")])


def update(
    upstream: str,
    *,
    accept_breaking: bool = False,
    commit: str | None = None,
    regenerate_step: Step | None = None,
    contract_tests_step: Step | None = None,
    relock_step: Step | None = None,
) -> int:
    """Run the whole update; return the exit status. Files change only if every step passes.

    The steps default to the real generator and contract suite; tests swap them to fail.
    """
    data = read_source(upstream)
    current = parse_document(read_source(paths.PIN), paths.PIN)
    try:
        pinned = import_document(parse_document(data, upstream), prose_from=current)
    except SpecError as exc:
        raise SpecError(f"{upstream}: {exc}") from None
    text = dump_yaml(pinned)
    record = upstream_record(upstream, data, commit)
    pin_name = str(paths.PIN.relative_to(paths.ROOT))
    report = Report(pin_name, record["source"], diff_documents(import_document(current), pinned))
    print(report.to_markdown())
    if report.breaking and not accept_breaking:
        _complain(
            f"update-spec: refused: {len(report.breaking)} breaking change(s). Review them, "
            "then rerun with ACCEPT_BREAKING=1 to accept. Nothing was changed."
        )
        return EXIT_REFUSED
    locked = generate.read_lock().get("upstream") or {}
    if text == paths.PIN.read_text(encoding="utf-8") and locked.get("sha256") == record["sha256"]:
        print("update-spec: the pin already matches this upstream revision; nothing to do.")
        return EXIT_OK
    config = paths.GENERATOR_CONFIG.read_text(encoding="utf-8")
    old_version = client_version(config)
    new_version = bumped(old_version, release_part(report))
    entry = changes_entry(
        report, record, accepted=accept_breaking, versions=(old_version, new_version)
    )
    with tempfile.TemporaryDirectory() as scratch:
        snapshot = Snapshot(
            [paths.PIN, paths.LOCK, paths.CHANGES, paths.GENERATOR_CONFIG, paths.ROOT / "uv.lock"],
            [paths.GENERATED],
            Path(scratch),
        )
        step = "writing the pin"
        try:
            paths.PIN.write_text(text, encoding="utf-8")
            step = "bumping the client's version"
            paths.GENERATOR_CONFIG.write_text(
                with_client_version(config, new_version), encoding="utf-8"
            )
            step = "regenerating the client"
            (regenerate_step or regenerate)()
            step = "writing the lock"
            lock = generate.lock_document(upstream=record)
            paths.LOCK.write_text(dump_json(lock), encoding="utf-8")
            step = "locking the workspace (uv.lock has the client's version)"
            (relock_step or relock)()
            step = "appending to CHANGES.md"
            _append_changes(entry)
            step = "running the contract tests"
            (contract_tests_step or run_contract_tests)()
        except BaseException as exc:
            snapshot.restore()
            _complain(f"update-spec: {step} failed ({_brief(exc)}); every file was restored.")
            if isinstance(exc, KeyboardInterrupt):
                raise
            return EXIT_FAILED
    release = ".".join(map(str, new_version))
    print(
        f"update-spec: {pin_name} now matches {record['source']} "
        f"(client version {release}); review and commit."
    )
    return EXIT_OK


def _append_changes(entry: str) -> None:
    existing = (
        paths.CHANGES.read_text(encoding="utf-8") if paths.CHANGES.exists() else CHANGES_HEADER
    )
    paths.CHANGES.write_text(existing.rstrip("\n") + "\n\n" + entry, encoding="utf-8")


def _complain(message: str) -> None:
    print(message, file=sys.stderr)


def _brief(exc: BaseException) -> str:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return first if isinstance(exc, SpecError | StepFailed) else f"{type(exc).__name__}: {first}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("upstream", help="HubSpot's published spec: a file path or a URL")
    parser.add_argument(
        "--accept-breaking",
        action="store_true",
        default=os.environ.get("ACCEPT_BREAKING") == "1",
        help="apply breaking changes too (or set ACCEPT_BREAKING=1)",
    )
    parser.add_argument("--commit", help="upstream commit of this revision, recorded in the lock")
    args = parser.parse_args(argv)
    try:
        return update(args.upstream, accept_breaking=args.accept_breaking, commit=args.commit)
    except SpecError as exc:
        print(f"update-spec: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except RecursionError:
        print("update-spec: the document nests too deeply (or refers to itself)", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
