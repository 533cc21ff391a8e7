"""Whole folders compared byte for byte, as unified diffs (standard library only).

Shared by ``generate check`` and ``vendor check``; the latter runs in a consumer's CI with a
bare Python, so nothing here may import a third-party package.
"""

from __future__ import annotations

import difflib
from pathlib import Path

IGNORED_PARTS = frozenset({"__pycache__"})


def tree(root: Path, *, skip: frozenset[str] = frozenset()) -> dict[str, bytes]:
    """Every file under ``root`` by relative (POSIX) path, but caches and the names in ``skip``."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
        and not IGNORED_PARTS.intersection(p.parts)
        and p.relative_to(root).as_posix() not in skip
    }


def diff_trees(
    want: dict[str, bytes], have: dict[str, bytes], have_label: str, want_label: str
) -> list[str]:
    """Unified diff lines turning ``have`` into ``want``; empty when identical."""
    lines: list[str] = []
    for name in sorted(want.keys() | have.keys()):
        if want.get(name) == have.get(name):
            continue
        old = have.get(name, b"").decode("utf-8", "replace").splitlines(keepends=True)
        new = want.get(name, b"").decode("utf-8", "replace").splitlines(keepends=True)
        diff = difflib.unified_diff(old, new, f"{have_label}/{name}", f"{want_label}/{name}")
        # A last line without a newline would run into the next file's header.
        lines += (line if line.endswith("\n") else line + "\n" for line in diff)
    return lines
