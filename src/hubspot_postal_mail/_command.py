"""One ``postal-mail upsert`` run: check the settings, open the input, send (or plan) with
progress, turn Ctrl+C into a resumable stop, and say what happened to every record.

``cli.py`` turns options into :class:`UpsertOptions`; ``demo.py`` builds them itself. A run
writes progress, failures and warnings to ``err`` (stderr); the caller prints the summary with
:func:`print_summary` on stdout (or the one JSON object of ``--json``), so
``postal-mail upsert ... --json | jq`` sees JSON only.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from ._bulk import DEFAULT_CONCURRENCY, STOP_REQUESTED, Progress, aupsert_all
from ._checkpoint import CheckpointError
from ._config import TOKEN_ENV, ConfigError, RedactingFilter, Secret, resolve_base_url
from ._config import resolve_token as _resolve_token
from ._dry_run import plan
from ._pacing import RateLimit
from ._progress import ProgressView, count_records, progress_view
from ._readers import InputError, read_records
from ._records import SourceLine
from ._report import RecordResult, UpsertReport

FAILURES_SHOWN = 10  # failed records listed on stderr; the report has them all

# Exit statuses: DESIGN.md's interface.
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_STOPPED = 0, 1, 2, 3


class CommandError(Exception):
    """A problem worded for the person at the terminal: one line, no traceback."""

    def __init__(self, message: str, exit_status: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_status = exit_status


@dataclass(frozen=True)
class UpsertOptions:
    """Everything one run needs; ``token`` None means ``HUBSPOT_ACCESS_TOKEN``."""

    input: str  # a .csv or .jsonl path, or "-" for JSON lines on stdin
    id_property: str
    base_url: str | None = None
    report: Path | None = None
    checkpoint: Path | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    rate_limit: RateLimit | None = None
    shared_budget: str | None = None  # a Redis URL: one budget for every run that names it
    dry_run: bool = False
    token: Secret | None = field(default=None, repr=False)

    @property
    def source_name(self) -> str:
        return "<stdin>" if self.input == "-" else self.input


@dataclass
class RunResult:
    report: UpsertReport
    exit_status: int
    summary: dict[str, Any]


def resolve_token(given: Secret | None) -> Secret:
    if given is None and not os.environ.get(TOKEN_ENV, "").strip():
        raise CommandError(
            f"{TOKEN_ENV} is not set: export a HubSpot private app token with the "
            "crm.objects.contacts.write scope (or use --dry-run to send nothing)"
        )
    try:
        return _resolve_token(given)
    except ConfigError as exc:
        raise CommandError(f"{TOKEN_ENV}: {exc}") from None


def open_input(options: UpsertOptions) -> tuple[Iterator[SourceLine], _LineTracker]:
    """The records, with the first one already read: a bad header or encoding fails here."""
    name = options.source_name
    try:
        records = read_records(options.input)
        tracker = _LineTracker(records)
        first = list(itertools.islice(tracker, 1))
    except (InputError, UnicodeDecodeError) as exc:
        raise CommandError(_input_message(name, exc, None)) from None
    return itertools.chain(first, tracker), tracker


class _LineTracker:
    """Passes records through and remembers the last line read, for mid-file errors."""

    def __init__(self, records: Iterator[SourceLine]) -> None:
        self._records = records
        self.last_line = 0

    def __iter__(self) -> Iterator[SourceLine]:
        return self

    def __next__(self) -> SourceLine:
        record = next(self._records)
        self.last_line = record.line
        return record


def _input_message(name: str, exc: Exception, after_line: int | None) -> str:
    reason = f"not UTF-8 text ({exc.reason})" if isinstance(exc, UnicodeDecodeError) else str(exc)
    where = f" after line {after_line}" if after_line else ""
    if name in reason and not where:
        return reason
    return f"{name}{where}: {reason}"


def _check_report_path(path: Path | None) -> None:
    if path is None:
        return
    if path.is_dir():
        raise CommandError(f"--report {path}: is a directory")
    if not path.parent.is_dir():
        raise CommandError(f"--report {path}: the folder {path.parent} does not exist")


class Upsert:
    """One run; :meth:`execute` returns the report, the exit status and the summary."""

    def __init__(self, options: UpsertOptions, *, err: Console) -> None:
        self.options = options
        self.err = err
        self.last: Progress | None = None
        self.interrupted: str | None = None
        self._view: ProgressView | None = None
        self._redact: Callable[[str], str] = str

    # -- the run -------------------------------------------------------------------------------

    def execute(self) -> RunResult:
        opts = self.options
        token = None if opts.dry_run else resolve_token(opts.token)
        try:
            base_url = resolve_base_url(opts.base_url)
        except ConfigError as exc:
            raise CommandError(f"base URL: {exc}") from None
        _check_report_path(opts.report)
        if opts.checkpoint is not None and opts.checkpoint.is_dir():
            raise CommandError(f"--checkpoint {opts.checkpoint}: is a directory")
        records, tracker = open_input(opts)
        total = None
        if opts.input != "-":
            total = count_records(Path(opts.input), csv=opts.input.lower().endswith(".csv"))
        verb = "Checking" if opts.dry_run else "Upserting"
        self._view = progress_view(self.err, total, verb)
        redact = RedactingFilter([token] if token is not None else [])
        self._redact = redact.redact
        finished = False
        extra: dict[str, Any] = {}
        quiet = logging.NullHandler()  # the runtime's log lines: the summary says it better
        logging.getLogger("hubspot_postal_mail").addHandler(quiet)
        try:
            if opts.dry_run:
                planned = plan(
                    records,
                    id_property=opts.id_property,
                    report=opts.report,
                    checkpoint=opts.checkpoint,
                    on_progress=self._progress,
                )
                report = planned.report
                extra = {"would_send": planned.would_send, "batches": planned.batches}
            else:
                assert token is not None
                report = asyncio.run(self._send(records, token, base_url))
            finished = report.stopped is None
        except (asyncio.CancelledError, KeyboardInterrupt):
            report = self._abandoned()
        except CheckpointError as exc:
            raise CommandError(f"--checkpoint {opts.checkpoint}: {exc}") from None
        except ConfigError as exc:  # raised before anything is sent (e.g. Redis unreachable)
            raise CommandError(str(exc)) from None
        except (InputError, UnicodeDecodeError) as exc:
            message = _input_message(opts.source_name, exc, tracker.last_line)
            raise self._stopped_by(message) from None
        except OSError as exc:
            problem = f"{exc.filename}: {exc.strerror}" if exc.filename else str(exc)
            raise self._stopped_by(redact.redact(problem)) from None
        finally:
            logging.getLogger("hubspot_postal_mail").removeHandler(quiet)
            self._view.close(finished=finished)
        if report.stopped == STOP_REQUESTED and self.interrupted:
            report.stopped = f"interrupted ({self.interrupted}); requests in flight were finished"
        status = report.exit_status
        summary = self._summary(report, extra)
        self._say(report, summary)
        return RunResult(report, status, summary)

    async def _send(
        self, records: Iterator[SourceLine], token: Secret, base_url: str
    ) -> UpsertReport:
        opts = self.options
        loop = asyncio.get_running_loop()
        main = asyncio.current_task()
        stop = threading.Event()

        def on_signal(name: str) -> None:
            if stop.is_set():
                self.interrupted = f"{name} twice"
                if main is not None:
                    main.cancel()
                return
            self.interrupted = name
            stop.set()
            if self._view is not None:
                self._view.note(
                    f"{name}: finishing the requests in flight, then stopping "
                    "(press Ctrl+C again to stop at once)"
                )

        installed = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, on_signal, sig.name)
                installed.append(sig)
        try:
            return await aupsert_all(
                records,
                id_property=opts.id_property,
                token=token,
                base_url=base_url,
                concurrency=opts.concurrency,
                rate_limit=opts.rate_limit,
                checkpoint=opts.checkpoint,
                report=opts.report,
                on_progress=self._progress,
                stop=stop,
                shared_budget=opts.shared_budget,
            )
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)

    def _progress(self, progress: Progress) -> None:
        self.last = progress
        if self._view is not None:
            self._view.update(progress)

    def _abandoned(self) -> UpsertReport:
        """The counts so far, when a second Ctrl+C cut the requests in flight short."""
        p = self.last
        report = UpsertReport(
            stopped=f"interrupted ({self.interrupted or 'SIGINT'}); "
            "requests in flight were abandoned and will be sent again"
        )
        if p is not None:
            report.total, report.created, report.updated = p.done, p.created, p.updated
            report.failed, report.skipped, report.resumed = p.failed, p.skipped, p.resumed
            report.requests, report.retries, report.rate_limited = (
                p.requests,
                p.retries,
                p.rate_limited,
            )
            report.elapsed_s = p.elapsed_s
            report.unfinished = max(0, p.read - p.done - p.resumed)
        return report

    def _stopped_by(self, message: str) -> CommandError:
        """Input or file trouble mid-run: 2 if nothing was sent yet, else 3 (resumable)."""
        if self.last is None or self.last.requests == 0:
            return CommandError(f"{message} (nothing was sent)", EXIT_USAGE)
        sent = self.last.created + self.last.updated
        where = (
            f"; rerun with --checkpoint {self.options.checkpoint} to resume"
            if self.options.checkpoint
            else ""
        )
        return CommandError(
            f"{message} ({sent} records were written before it{where})", EXIT_STOPPED
        )

    # -- saying what happened ------------------------------------------------------------------

    def _summary(self, report: UpsertReport, extra: dict[str, Any]) -> dict[str, Any]:
        opts = self.options
        rate = report.total / report.elapsed_s if report.elapsed_s > 0 else 0.0
        return {
            **report.summary(),
            "records_per_s": round(rate, 1),
            "input": opts.source_name,
            "id_property": opts.id_property,
            "report": str(opts.report) if opts.report else None,
            "checkpoint": str(opts.checkpoint) if opts.checkpoint else None,
            "dry_run": opts.dry_run,
            **extra,
        }

    def _say(self, report: UpsertReport, summary: dict[str, Any]) -> None:
        self._say_failures(report)
        if report.shared_budget_fallback:
            self.err.print(
                Text(f"shared budget: {report.shared_budget_fallback}", style="yellow"),
                soft_wrap=True,
            )
        if report.stopped is not None:
            self.err.print(
                Text(f"stopped early: {report.stopped}", style="bold red"), soft_wrap=True
            )
            if self.options.checkpoint is not None:
                hint = (
                    f"the checkpoint {self.options.checkpoint} is saved: run the same command "
                    "again to resume where this run stopped"
                )
            else:
                hint = (
                    "no --checkpoint was given, so a rerun starts from the top "
                    "(upserts are idempotent; next time add --checkpoint FILE)"
                )
            self.err.print(hint, soft_wrap=True, markup=False, highlight=False)

    def _say_failures(self, report: UpsertReport) -> None:
        failures = report.failures
        if not failures:
            return
        name = self.options.source_name
        for result in sorted(failures[:FAILURES_SHOWN], key=lambda r: r.line):
            line = self._redact(failure_line(name, result))
            self.err.print(line, soft_wrap=True, markup=False)
        more = report.failed - min(len(failures), FAILURES_SHOWN)
        where = f"the report {self.options.report}" if self.options.report else "--report FILE"
        if more > 0:
            self.err.print(f"... and {more} more failed records: see {where}", markup=False)


def failure_line(source: str, result: RecordResult) -> str:
    """``file:line: record ID: failed: CATEGORY: message`` on one line."""
    record = f"record {result.id}" if result.id is not None else "record without an id"
    if result.error is None:
        return f"{source}:{result.line}: {record}: {result.outcome}"
    status = f" (HTTP {result.error.status})" if result.error.status else ""
    message = " ".join(result.error.message.split())
    return f"{source}:{result.line}: {record}: failed: {result.error.category}{status}: {message}"


def summary_text(summary: dict[str, Any]) -> Text:
    """The human summary: what happened to the records, the traffic, where the report is."""
    text = Text()
    seconds = summary["elapsed_s"]
    if summary["dry_run"]:
        text.append("Dry run: nothing was sent.\n", style="bold")
        text.append(
            f"  {summary['total']} records checked: {summary['would_send']} would be sent "
            f"in at least {summary['batches']} requests, "
        )
        text.append(f"{summary['failed']} invalid", style="red" if summary["failed"] else "")
        text.append(" (HubSpot may still refuse values only it checks)\n")
    else:
        text.append(
            f"{summary['total']} records from {summary['input']} in {seconds:.1f} s "
            f"({summary['records_per_s']:.0f} records/s), by {summary['id_property']}\n",
            style="bold",
        )
        text.append("  ")
        text.append(f"created {summary['created']}", style="green")
        text.append(", ")
        text.append(f"updated {summary['updated']}", style="cyan")
        text.append(", ")
        text.append(f"failed {summary['failed']}", style="red" if summary["failed"] else "")
        text.append(f", skipped {summary['skipped']}")
        text.append("\n")
        text.append(
            f"  {summary['requests']} requests, {summary['retries']} retries, "
            f"{summary['rate_limited']} rate-limited (429)\n"
        )
    if summary["resumed"]:
        text.append(f"  {summary['resumed']} records were finished by an earlier run\n")
    if summary["unfinished"]:
        text.append(f"  {summary['unfinished']} records read but not finished\n", style="yellow")
    text.append(f"  report: {summary['report'] or '(none: add --report FILE)'}")
    return text


def print_summary(out: Console, summary: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        out.file.write(json.dumps(summary) + "\n")
        out.file.flush()
    else:
        out.print(summary_text(summary), soft_wrap=True, highlight=False)


__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_STOPPED",
    "EXIT_USAGE",
    "CommandError",
    "RunResult",
    "Upsert",
    "UpsertOptions",
    "failure_line",
    "print_summary",
    "summary_text",
]
