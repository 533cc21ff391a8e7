"""CSV and JSONL readers that yield one :class:`SourceLine` per record, lazily.

A line that cannot be read (invalid JSON, not an object, a CSV row whose field count does not
match the header) becomes a ``SourceLine`` with an ``error``: it is reported with its line
number and the run goes on. A file that cannot be read at all raises :class:`InputError`.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from ._exceptions import InputError
from ._records import SourceLine


def _jsonl_lines(stream: IO[str]) -> Iterator[SourceLine]:
    for number, text in enumerate(stream, start=1):
        if not text.strip():
            continue
        try:
            data = json.loads(text)
        except ValueError as error:
            yield SourceLine(number, error=f"invalid JSON: {error}")
            continue
        if not isinstance(data, dict):
            yield SourceLine(number, error=f"not a JSON object (got {type(data).__name__})")
            continue
        yield SourceLine(number, data=data)


def _csv_rows(stream: IO[str]) -> Iterator[SourceLine]:
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as error:
        raise InputError(f"unreadable CSV header: {error}") from error
    names = [name.strip() for name in header]
    if len(set(names)) != len(names) or not all(names):
        raise InputError("the CSV header has empty or repeated column names")
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield SourceLine(reader.line_num, error=f"unreadable CSV row: {error}")
            continue
        if not row:
            continue
        if len(row) != len(names):
            yield SourceLine(
                reader.line_num,
                error=f"{len(row)} fields where the header has {len(names)}",
            )
            continue
        yield SourceLine(reader.line_num, data=dict(zip(names, row, strict=True)))


def _closing(stream: IO[str], lines: Iterator[SourceLine]) -> Iterator[SourceLine]:
    with stream:
        yield from lines


def _open(source: str | Path, **kwargs: str) -> IO[str]:
    """Open now, not at the first record, so a missing file fails before anything is sent."""
    try:
        return Path(source).open(**kwargs)  # type: ignore[call-overload,no-any-return]
    except OSError as error:
        raise InputError(f"cannot open {source}: {error.strerror}") from error


def read_jsonl(source: str | Path | IO[str]) -> Iterator[SourceLine]:
    """JSON lines from a path, ``-`` (stdin) or an open text stream."""
    if not isinstance(source, str | Path):
        return _jsonl_lines(source)
    if str(source) == "-":
        return _jsonl_lines(sys.stdin)
    stream = _open(source, encoding="utf-8")
    return _closing(stream, _jsonl_lines(stream))


def read_csv(source: str | Path | IO[str]) -> Iterator[SourceLine]:
    """CSV rows (first row is the header) from a path or an open text stream."""
    if not isinstance(source, str | Path):
        return _csv_rows(source)
    stream = _open(source, encoding="utf-8-sig", newline="")
    return _closing(stream, _csv_rows(stream))


def read_records(source: str | Path) -> Iterator[SourceLine]:
    """By name: ``-`` and ``*.jsonl``/``*.ndjson`` are JSON lines, ``*.csv`` is CSV."""
    name = str(source)
    suffix = Path(name).suffix.lower()
    if name == "-" or suffix in (".jsonl", ".ndjson"):
        return read_jsonl(source)
    if suffix == ".csv":
        return read_csv(source)
    raise InputError(f"{name}: expected a .csv or .jsonl file, or - for JSON lines on stdin")
