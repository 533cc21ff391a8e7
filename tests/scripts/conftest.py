"""Fixtures for the maintenance scripts: a throw-away copy of the project, a loopback server."""

from __future__ import annotations

import functools
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from scripts import paths

REAL_ROOT = paths.ROOT


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of openapi/ and generated_client/ that every script treats as the project."""
    root = tmp_path / "project"
    shutil.copytree(REAL_ROOT / "openapi", root / "openapi")
    shutil.copytree(
        REAL_ROOT / "generated_client",
        root / "generated_client",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    openapi = root / "openapi"
    for name, value in {
        "ROOT": root,
        "OPENAPI": openapi,
        "PIN": openapi / "postal_mail.yaml",
        "OVERLAYS": openapi / "overlays",
        "TEMPLATES": openapi / "templates",
        "GENERATOR_CONFIG": openapi / "generator.yaml",
        "LOCK": openapi / "spec.lock",
        "CHANGES": openapi / "CHANGES.md",
        "GENERATED": root / "generated_client",
    }.items():
        monkeypatch.setattr(paths, name, value)
    return root


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by relative path, to compare a whole tree byte for byte."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder and the http://127.0.0.1 URL that serves it, for the length of one test."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def whole_project(project: Path) -> Path:
    """``project`` plus the runtime, scripts and contract suite: enough to run the suite there.

    Prism (``.node/``) is linked rather than copied: installing it is slow and it is the same
    tool either way.
    """
    for name in ("src", "scripts", "contract_tests"):
        shutil.copytree(
            REAL_ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    for name in ("pyproject.toml", "uv.lock", "README.md"):
        shutil.copyfile(REAL_ROOT / name, project / name)
    if (REAL_ROOT / ".node").exists():
        (project / ".node").symlink_to(REAL_ROOT / ".node")
    return project
