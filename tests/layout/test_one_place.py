"""Things that must live in one place, checked across the hand-written code."""

from __future__ import annotations

import re
from pathlib import Path

from hubspot_postal_mail import UPSERT_PATH
from scripts import paths
from scripts.spec_io import load_document

ROOT = Path(__file__).resolve().parents[2]
HAND_WRITTEN = ("src", "tests", "contract_tests", "benchmarks", "scripts", "examples", "tools")
# Any version of the operation's path: /crm/v3/objects/... or /crm/objects/2026-03/...
OPERATION_PATH = re.compile(r"/crm/(?:v\d+/)?objects/(?:\d{4}-\d{2}/)?postal_mail/batch/upsert")
# The spec tooling's own fixtures spell out HubSpot's path forms: that is what they test.
ALLOWED = {Path("tests/scripts/upstream.py")}


def _hand_written_files() -> list[Path]:
    found = []
    for top in HAND_WRITTEN:
        for path in (ROOT / top).rglob("*"):
            if path.is_file() and path.suffix in {".py", ".md", ".yaml", ".yml", ".toml", ".cfg"}:
                found.append(path)
    found += [ROOT / "Makefile", ROOT / "pyproject.toml"]
    return found


def test_the_operation_path_is_written_only_in_the_pin() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _hand_written_files()
        if path.relative_to(ROOT) not in ALLOWED
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if OPERATION_PATH.search(line)
    ]
    assert offenders == [], "read the path from hubspot_postal_mail.UPSERT_PATH instead"


def test_the_runtime_path_is_the_pins() -> None:
    (pinned,) = load_document(paths.PIN)["paths"]
    assert pinned == UPSERT_PATH
