"""A small, append-only, fsync'd record of which input positions are finished.

A position (0-based index in the input) is written here only once its outcome is final:
written, rejected by HubSpot, invalid, or settled by a later record with the same id. The
bulk engine writes a batch's positions before it lets the next record with one of those ids be
sent, so a later occurrence is never marked finished while an earlier one is not: a rerun on the
same input never sends an older value after a newer one. Records in flight at a kill are not
here and are sent again; an upsert keyed by a unique property is idempotent.

Positions are stored as ``[start, end)`` ranges, so a million records take a few kilobytes.
"""

from __future__ import annotations

import bisect
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from ._exceptions import CheckpointError

FORMAT = "hubspot-postal-mail-checkpoint/1"
COMPACT_AFTER_LINES = 1000


class IntervalSet:
    """Non-negative integers as sorted, merged, half-open ranges."""

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []

    def __contains__(self, value: int) -> bool:
        i = bisect.bisect_right(self._starts, value) - 1
        return i >= 0 and value < self._ends[i]

    def __len__(self) -> int:
        return sum(e - s for s, e in zip(self._starts, self._ends, strict=True))

    def add_range(self, start: int, end: int) -> None:
        if end <= start:
            return
        lo = bisect.bisect_left(self._ends, start)  # first range that ends at/after start
        hi = bisect.bisect_right(self._starts, end)  # ranges starting after end stay apart
        if lo < hi:
            start = min(start, self._starts[lo])
            end = max(end, self._ends[hi - 1])
        self._starts[lo:hi] = [start]
        self._ends[lo:hi] = [end]

    def ranges(self) -> list[list[int]]:
        return [[s, e] for s, e in zip(self._starts, self._ends, strict=True)]


def to_ranges(values: Iterable[int]) -> list[list[int]]:
    """Sorted distinct values as merged ``[start, end)`` ranges."""
    out: list[list[int]] = []
    for v in sorted(set(values)):
        if out and out[-1][1] == v:
            out[-1][1] = v + 1
        else:
            out.append([v, v + 1])
    return out


def temporary_path(path: Path) -> Path:
    """The file a checkpoint is rewritten through before it replaces ``path``."""
    return path.with_name(path.name + ".tmp")


class Checkpoint:
    """Open (or create) a checkpoint file for a run keyed by ``id_property``."""

    def __init__(self, path: str | Path, *, id_property: str) -> None:
        self.path = Path(path)
        self.id_property = id_property
        self.done = IntervalSet()
        lines = self._load()
        self.resumed = len(self.done) > 0
        if lines == 0 or lines > COMPACT_AFTER_LINES:
            self._rewrite()
        self._file: IO[str] | None = self.path.open("a", encoding="utf-8")

    def _header(self) -> dict[str, Any]:
        return {"format": FORMAT, "id_property": self.id_property}

    def _load(self) -> int:
        """Read what an earlier run left; a torn last line (a kill mid-write) is ignored."""
        if not self.path.exists():
            if not self.path.parent.is_dir():
                raise CheckpointError(f"{self.path}: the folder {self.path.parent} does not exist")
            return 0
        try:
            raw = self.path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise CheckpointError(f"{self.path} is not a checkpoint (not UTF-8 text)") from None
        lines = raw.split("\n")
        for number, text in enumerate(lines):
            if not text.strip():
                continue
            try:
                entry = json.loads(text)
            except ValueError:
                if number == len(lines) - 1:  # unterminated: written when the process died
                    break
                raise CheckpointError(f"{self.path}: line {number + 1} is not JSON") from None
            if number == 0:
                self._check_header(entry)
                continue
            self._add(entry, number + 1)
        if not raw.endswith("\n"):
            return len(lines) + COMPACT_AFTER_LINES  # force a clean rewrite after a torn line
        return len(lines)

    def _check_header(self, entry: Any) -> None:
        if entry == self._header():
            return
        if not isinstance(entry, dict) or entry.get("format") != FORMAT:
            raise CheckpointError(
                f"{self.path} is not a postal-mail checkpoint (its first line is not the "
                "header one writes); give a new file"
            )
        raise CheckpointError(
            f"{self.path} was written for another run (id_property "
            f"{str(entry.get('id_property'))[:100]!r}, not {self.id_property!r}); "
            "use a new checkpoint file"
        )

    def _add(self, entry: Any, line: int) -> None:
        """One ``{"done": [[start, end], ...]}`` line; anything else is not ours."""
        spans = entry.get("done") if isinstance(entry, dict) else None
        if not isinstance(spans, list) or not all(_is_span(span) for span in spans):
            raise CheckpointError(
                f"{self.path}: line {line} is not a checkpoint entry "
                '(expected {"done": [[start, end], ...]}); use a new checkpoint file'
            )
        for start, end in spans:
            self.done.add_range(start, end)

    def _rewrite(self) -> None:
        """Atomically replace the file with the header and one line of merged ranges."""
        tmp = temporary_path(self.path)
        with tmp.open("w", encoding="utf-8") as f:
            f.write(json.dumps(self._header()) + "\n")
            if len(self.done):
                f.write(json.dumps({"done": self.done.ranges()}) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        _fsync_dir(self.path.parent)

    def is_done(self, position: int) -> bool:
        return position in self.done

    def mark(self, positions: Iterable[int]) -> None:
        """Record finished positions durably (flush + fsync) before returning."""
        ranges = to_ranges(positions)
        if not ranges or self._file is None:
            return
        for start, end in ranges:
            self.done.add_range(start, end)
        self._file.write(json.dumps({"done": ranges}, separators=(",", ":")) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _is_span(span: Any) -> bool:
    return (
        isinstance(span, list)
        and len(span) == 2
        and all(type(bound) is int and bound >= 0 for bound in span)
    )


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # some platforms cannot open a directory
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
