"""What happened to each record, and the run's summary.

One :class:`RecordResult` per input record goes to the report sink (a JSON-lines file, a text
stream, or a callable) as soon as it is known; the returned :class:`UpsertReport` keeps only the
counts and the first failures, so a run of millions of records stays small in memory.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

MAX_FAILURES_KEPT = 1000


class Outcome(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class RecordError:
    """Why a record was not written: HubSpot's category and message, or ours.

    Our own categories: ``INVALID_INPUT`` (never sent), ``RATE_LIMITS`` / ``SERVER_ERROR`` /
    ``NETWORK_ERROR`` / ``TIMEOUT`` (retries ran out; a rerun with the checkpoint tries again),
    ``NO_RESULT`` (HubSpot's answer did not mention the record).
    """

    category: str
    message: str
    status: int | None = None  # the HTTP status of the answer, when there was one

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"category": self.category, "message": self.message}
        if self.status is not None:
            data["status"] = self.status
        return data


@dataclass(frozen=True)
class RecordResult:
    """One report line: ``line`` is the input line (or 1-based position for Python input)."""

    line: int
    id: str | None
    outcome: Outcome
    object_id: str | None = None
    error: RecordError | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"line": self.line, "id": self.id, "outcome": str(self.outcome)}
        if self.object_id is not None:
            data["object_id"] = self.object_id
        if self.error is not None:
            data["error"] = self.error.to_dict()
        return data


@dataclass
class UpsertReport:
    """The summary of a run; ``summary()`` is what ``--json`` prints."""

    total: int = 0
    created: int = 0
    updated: int = 0
    failed: int = 0
    skipped: int = 0
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    elapsed_s: float = 0.0
    resumed: int = 0  # records a checkpoint said were finished by an earlier run
    unfinished: int = 0  # records read but not finished when the run stopped early
    stopped: str | None = None  # why the run stopped early, if it did
    shared_budget_fallback: str | None = None  # why a shared budget was left for the local one
    failures: list[RecordResult] = field(default_factory=list, repr=False)

    def add(self, result: RecordResult) -> None:
        self.total += 1
        match result.outcome:
            case Outcome.CREATED:
                self.created += 1
            case Outcome.UPDATED:
                self.updated += 1
            case Outcome.SKIPPED:
                self.skipped += 1
            case Outcome.FAILED:
                self.failed += 1
                if len(self.failures) < MAX_FAILURES_KEPT:
                    self.failures.append(result)

    @property
    def exit_status(self) -> int:
        """0 all written, 1 some failed, 3 stopped early (resumable), as the CLI exits."""
        if self.stopped is not None:
            return 3
        return 1 if self.failed else 0

    def summary(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "created": self.created,
            "updated": self.updated,
            "failed": self.failed,
            "skipped": self.skipped,
            "requests": self.requests,
            "retries": self.retries,
            "rate_limited": self.rate_limited,
            "elapsed_s": round(self.elapsed_s, 3),
            "resumed": self.resumed,
            "unfinished": self.unfinished,
            "stopped": self.stopped,
        } | (
            {"shared_budget_fallback": self.shared_budget_fallback}
            if self.shared_budget_fallback
            else {}
        )


ReportTarget = str | Path | IO[str] | Callable[[RecordResult], None]


class ReportWriter:
    """Writes one JSON line per record; ``append`` continues a resumed run's report."""

    def __init__(
        self, target: ReportTarget | None, *, append: bool, redact: Callable[[str], str]
    ) -> None:
        self._redact = redact
        self._callback: Callable[[RecordResult], None] | None = None
        self._stream: IO[str] | None = None
        self._owned = False
        if target is None:
            return
        if isinstance(target, str | Path):
            if append:
                _drop_torn_tail(Path(target))
            self._stream = Path(target).open("a" if append else "w", encoding="utf-8")  # noqa: SIM115
            self._owned = True
        elif callable(target):
            self._callback = target
        else:
            self._stream = target

    def write(self, result: RecordResult) -> None:
        if self._callback is not None:
            self._callback(result)
        if self._stream is not None:
            line = json.dumps(result.to_dict(), ensure_ascii=False, separators=(",", ":"))
            self._stream.write(self._redact(line) + "\n")

    def flush(self) -> None:
        if self._stream is not None:
            self._stream.flush()

    def close(self) -> None:
        if self._stream is not None:
            self._stream.flush()
            if self._owned:
                self._stream.close()
            self._stream = None


def _drop_torn_tail(path: Path) -> None:
    """Cut an unterminated last line (the process was killed mid-write) before appending.

    Its record was not yet in the checkpoint (the report is flushed first), so the resumed run
    reports it again; left in place, the fragment would run into the next line.
    """
    try:
        with path.open("r+b") as f:
            size = f.seek(0, 2)
            if size == 0:
                return
            f.seek(size - 1)
            if f.read(1) == b"\n":
                return
            end = size
            while end > 0:
                start = max(0, end - 65536)
                f.seek(start)
                chunk = f.read(end - start)
                newline = chunk.rfind(b"\n")
                if newline >= 0:
                    f.truncate(start + newline + 1)
                    return
                end = start
            f.truncate(0)
    except FileNotFoundError:
        return
