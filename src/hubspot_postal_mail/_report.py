"""What happened to each record, and the run's summary.

One :class:`RecordResult` per input record goes to the report sink (a JSON-lines file, a text
stream, or a callable) as soon as it is known; the returned :class:`UpsertReport` keeps only the
counts and the first failures, so a run of millions of records stays small in memory.
"""

from __future__ import annotations

import enum
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import IO, Any

from ._constants import ExitStatus

MAX_FAILURES_KEPT = 1000


class Outcome(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"  # HubSpot already holds these values: not sent
    FAILED = "failed"
    SKIPPED = "skipped"  # not sent by choice (a dry run)


class Category(enum.StrEnum):
    """Our own categories, for failures that have no HubSpot category (HubSpot's pass through)."""

    INVALID_INPUT = "INVALID_INPUT"  # never sent
    RATE_LIMITS = "RATE_LIMITS"  # retries ran out; a rerun tries again
    SERVER_ERROR = "SERVER_ERROR"
    NETWORK_ERROR = "NETWORK_ERROR"
    TIMEOUT = "TIMEOUT"
    NO_RESULT = "NO_RESULT"  # HubSpot's answer did not mention the record
    UNPARSABLE_RESPONSE = "UNPARSABLE_RESPONSE"


class StopReason(enum.StrEnum):
    """Why a run stopped before the end of its input (it is resumable)."""

    INTERRUPTED = "interrupted"  # the caller's stop event (Ctrl+C, SIGTERM)
    DAILY_LIMIT = "daily_limit"
    UNAUTHORISED = "unauthorised"  # 401/403
    CANNOT_SEND = "cannot_send"  # a local error no retry can fix
    UNREACHABLE = "unreachable"  # every recent attempt failed to connect
    REFUSED = "refused"  # HubSpot refuses the request itself, whatever its records


@dataclass(frozen=True)
class RecordError:
    """Why a record was not written: HubSpot's category and message, or ours (:class:`Category`)."""

    category: str
    message: str
    status: int | None = None  # the HTTP status of the answer, when there was one

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"category": str(self.category), "message": self.message}
        if self.status is not None:
            data["status"] = self.status
        return data


@dataclass(slots=True)  # not frozen: one per record, and frozen costs 1 us each
class RecordResult:
    """One report line: ``line`` is the input line (or 1-based position for Python input).

    ``properties``: what would be sent, for a dry run's ``skipped`` line.
    """

    line: int
    id: str | None
    outcome: Outcome
    object_id: str | None = None
    error: RecordError | None = None
    properties: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"line": self.line, "id": self.id, "outcome": str(self.outcome)}
        if self.object_id is not None:
            data["object_id"] = self.object_id
        if self.error is not None:
            data["error"] = self.error.to_dict()
        if self.properties is not None:
            data["would_send"] = True
            data["properties"] = self.properties
        return data


@dataclass
class Counts:
    """Every counter of a run, in one place: the summary, ``--json`` and the progress line all
    read these fields, so a new counter is one line here."""

    total: int = 0  # records with an outcome
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    skipped: int = 0
    requests: int = 0  # HTTP attempts, retries included
    retries: int = 0
    rate_limited: int = 0  # answers with 429
    unfinished: int = 0  # records read but not finished when the run stopped early

    def counts(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(Counts)}


@dataclass
class Progress(Counts):
    """A snapshot for a progress bar, given to ``on_progress`` as the run goes."""

    read: int = 0  # records read from the input so far
    in_flight: int = 0  # records in requests not yet answered
    elapsed_s: float = 0.0

    @property
    def done(self) -> int:
        """Records with an outcome so far."""
        return self.total


@dataclass
class UpsertReport(Counts):
    """The summary of a run; ``summary()`` is what ``--json`` prints.

    It owns the counters: the transport counts requests into it, the run adds each record's
    result, and :meth:`snapshot` makes the progress line from it.
    """

    elapsed_s: float = 0.0
    stopped: str | None = None  # why the run stopped early, in words, if it did
    stop_reason: StopReason | None = None
    shared_budget_fallback: str | None = None  # why a shared budget was left for the local one
    failures: list[RecordResult] = field(default_factory=list, repr=False)
    listener: Callable[[], None] | None = field(default=None, repr=False, compare=False)
    _started: float = field(default_factory=time.monotonic, repr=False, compare=False)

    def add(self, result: RecordResult) -> None:
        self.total += 1
        match result.outcome:
            case Outcome.CREATED:
                self.created += 1
            case Outcome.UPDATED:
                self.updated += 1
            case Outcome.UNCHANGED:
                self.unchanged += 1
            case Outcome.SKIPPED:
                self.skipped += 1
            case Outcome.FAILED:
                self.failed += 1
                if len(self.failures) < MAX_FAILURES_KEPT:
                    self.failures.append(result)

    def add_unchanged(self, count: int) -> None:
        """``count`` unchanged records at once, when nobody reads their report lines."""
        self.total += count
        self.unchanged += count

    # The transport's counters (see _transport.RequestCounter), told to the listener at once so
    # a progress bar shows retries and 429s while a slow batch is still being retried.

    def count_request(self) -> None:
        self.requests += 1
        self._changed()

    def count_retry(self) -> None:
        self.retries += 1
        self._changed()

    def count_rate_limited(self) -> None:
        self.rate_limited += 1
        self._changed()

    def _changed(self) -> None:
        if self.listener is not None:
            self.listener()

    def stop(self, reason: StopReason, message: str) -> None:
        """The first reason to stop wins."""
        if self.stop_reason is None:
            self.stop_reason, self.stopped = reason, message

    def finish(self) -> UpsertReport:
        self.elapsed_s = time.monotonic() - self._started
        return self

    def snapshot(self, *, read: int, in_flight: int = 0) -> Progress:
        elapsed = time.monotonic() - self._started
        return Progress(**self.counts(), read=read, in_flight=in_flight, elapsed_s=elapsed)

    @property
    def exit_status(self) -> ExitStatus:
        """0 all written, 1 some failed, 3 stopped early (resumable), as the CLI exits."""
        if self.stopped is not None:
            return ExitStatus.STOPPED
        return ExitStatus.FAILED if self.failed else ExitStatus.OK

    def summary(self) -> dict[str, Any]:
        return {
            **self.counts(),
            "elapsed_s": round(self.elapsed_s, 3),
            "stopped": self.stopped,
            "stop_reason": None if self.stop_reason is None else str(self.stop_reason),
            "shared_budget_fallback": self.shared_budget_fallback,
        }


ReportTarget = str | Path | IO[str] | Callable[[RecordResult], None]


class ReportWriter:
    """Writes one JSON line per record to a file (new each run), a stream or a callable."""

    def __init__(self, target: ReportTarget | None, *, redact: Callable[[str], str]) -> None:
        self._redact = redact
        self._callback: Callable[[RecordResult], None] | None = None
        self._stream: IO[str] | None = None
        self._owned = False
        if target is None:
            return
        if isinstance(target, str | Path):
            self._stream = Path(target).open("w", encoding="utf-8")  # noqa: SIM115
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

    @property
    def active(self) -> bool:
        """Whether lines written here go anywhere."""
        return self._callback is not None or self._stream is not None

    def flush(self) -> None:
        if self._stream is not None:
            self._stream.flush()

    def close(self) -> None:
        if self._stream is not None:
            self._stream.flush()
            if self._owned:
                self._stream.close()
            self._stream = None
