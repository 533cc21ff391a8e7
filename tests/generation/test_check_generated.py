"""`make check-generated` catches a stale client or lock, whichever input moved.

Each case copies the real inputs and output to a temporary tree, changes one byte, and runs the
same check CI runs. Regeneration takes a few seconds, so the cases are few and pointed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scripts import generate, paths

REAL_ROOT = paths.ROOT


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of openapi/ and generated_client/ that the scripts treat as the project."""
    shutil.copytree(REAL_ROOT / "openapi", tmp_path / "openapi")
    shutil.copytree(
        REAL_ROOT / "generated_client",
        tmp_path / "generated_client",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    monkeypatch.setattr(paths, "ROOT", tmp_path)
    monkeypatch.setattr(paths, "OPENAPI", tmp_path / "openapi")
    monkeypatch.setattr(paths, "PIN", tmp_path / "openapi" / "postal_mail.yaml")
    monkeypatch.setattr(paths, "OVERLAYS", tmp_path / "openapi" / "overlays")
    monkeypatch.setattr(paths, "TEMPLATES", tmp_path / "openapi" / "templates")
    monkeypatch.setattr(paths, "GENERATOR_CONFIG", tmp_path / "openapi" / "generator.yaml")
    monkeypatch.setattr(paths, "LOCK", tmp_path / "openapi" / "spec.lock")
    monkeypatch.setattr(paths, "GENERATED", tmp_path / "generated_client")
    return tmp_path


def _flip_one_byte(path: Path, old: bytes, new: bytes) -> None:
    data = path.read_bytes()
    assert old in data, f"{old!r} not in {path}"
    path.write_bytes(data.replace(old, new, 1))


def test_committed_tree_is_current(tree: Path) -> None:
    assert generate.check() == []


def test_one_byte_in_generated_client_fails(tree: Path) -> None:
    target = tree / "generated_client/hubspot_postal_mail_client/models/error.py"
    _flip_one_byte(target, b"category", b"categorz")
    problems = "".join(generate.check())
    assert "committed/hubspot_postal_mail_client/models/error.py" in problems
    assert "-" in problems
    assert "+" in problems


def test_one_byte_in_pin_fails(tree: Path) -> None:
    _flip_one_byte(tree / "openapi/postal_mail.yaml", b"- CANCELED", b"- CANCELLED")
    problems = "".join(generate.check())
    assert "CANCELLED" in problems
    assert "openapi/spec.lock" in problems


def test_one_byte_in_overlay_fails(tree: Path) -> None:
    _flip_one_byte(
        tree / "openapi/overlays/10-names.yaml",
        b"operationId: batch_upsert",
        b"operationId: batch_upserT",
    )
    problems = "".join(generate.check())
    assert "api/batch/batch_upsert.py" in problems
    assert "openapi/overlays/10-names.yaml" in problems


def test_hand_edit_that_keeps_the_lock_still_fails(tree: Path) -> None:
    """The lock alone is not trusted: the output itself is regenerated and compared."""
    target = tree / "generated_client/README.md"
    target.write_bytes(target.read_bytes() + b" ")
    assert generate.check() != []
