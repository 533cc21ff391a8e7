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
import dataclasses
import itertools
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from rich.console import Console
from rich.text import Text

from ._bulk import aupsert_all
from ._config import RedactingFilter, Secret, proxy_for, resolve_base_url
from ._config import resolve_token as _resolve_token
from ._constants import DEFAULT_BASE_URL, REQUIRED_SCOPE, TOKEN_ENV, ExitStatus
from ._dry_run import plan
from ._exceptions import ConfigError, InputError, PostalMailError, StateError
from ._progress import ProgressView, count_records, progress_view
from ._readers import read_records
from ._records import SourceLine
from ._report import Outcome, Progress, RecordResult, StopReason, UpsertReport
from ._settings import UpsertSettings
from ._text import plural, visible

FAILURES_SHOWN = 10  # failed records listed on stderr; the report has them all


class CommandError(PostalMailError):
    """A problem worded for the person at the terminal: one line, no traceback."""

    def __init__(self, message: str, exit_status: ExitStatus = ExitStatus.USAGE) -> None:
        super().__init__(message)
        self.exit_status = exit_status


@dataclass(frozen=True)
class UpsertOptions:
    """What the command line adds to a run's settings: where the records come from."""

    input: str  # a .csv or .jsonl path, or "-" for JSON lines on stdin
    settings: UpsertSettings
    # How the input is read: read_records' keywords (--format, --encoding, --map, --columns,
    # --empty, --assume-timezone).
    reading: Mapping[str, Any] = field(default_factory=dict)

    @property
    def source_name(self) -> str:
        return "<stdin>" if self.input == "-" else self.input

    @property
    def report(self) -> Path | None:
        target = self.settings.report
        return Path(target) if isinstance(target, str | Path) else None


@dataclass
class RunResult:
    report: UpsertReport
    exit_status: int
    summary: dict[str, Any]


def resolve_token(given: Secret | None) -> Secret:
    if given is None and not os.environ.get(TOKEN_ENV, "").strip():
        raise CommandError(
            f"{TOKEN_ENV} is not set: export a HubSpot private app token with the "
            f"{REQUIRED_SCOPE} scope (or use --dry-run to send nothing)"
        )
    try:
        return _resolve_token(given)
    except ConfigError as exc:
        raise CommandError(f"{TOKEN_ENV}: {exc}") from None


def proxied_transport(base_url: str) -> httpx.AsyncBaseTransport | None:
    """A transport through the proxy the environment names (``HTTPS_PROXY``, ``NO_PROXY``),
    or None to connect directly. httpx reads these only when it makes its own transport."""
    proxy = proxy_for(base_url)
    if proxy is None:
        return None
    try:
        return httpx.AsyncHTTPTransport(proxy=proxy)
    except (ValueError, ImportError) as exc:  # never the URL itself: it may hold a password
        scheme = urlsplit(proxy).scheme or "?"
        raise CommandError(
            f"HTTPS_PROXY or ALL_PROXY: cannot use a {scheme}:// proxy ({type(exc).__name__}); "
            "use an http:// or https:// proxy URL"
        ) from None


def open_input(options: UpsertOptions) -> tuple[Iterator[SourceLine], _LineTracker]:
    """The records, with the first one already read: a bad header or encoding fails here."""
    name = options.source_name
    try:
        records = read_records(
            options.input, id_property=options.settings.id_property, **options.reading
        )
        tracker = _LineTracker(records)
        first = list(itertools.islice(tracker, 1))
    except (InputError, UnicodeDecodeError) as exc:
        raise CommandError(_input_message(name, exc, None)) from None
    return itertools.chain(first, tracker), tracker


class _LineTracker:
    """Passes records through and remembers the last line read, for mid-file errors, and how
    many were read, for the summary of a run cut short."""

    def __init__(self, records: Iterator[SourceLine]) -> None:
        self._records = records
        self.last_line = 0
        self.count = 0

    def __iter__(self) -> Iterator[SourceLine]:
        return self

    def __next__(self) -> SourceLine:
        record = next(self._records)
        self.last_line = record.line
        self.count += 1
        return record


def _input_message(name: str, exc: Exception, after_line: int | None) -> str:
    reason = f"not UTF-8 text ({exc.reason})" if isinstance(exc, UnicodeDecodeError) else str(exc)
    where = f" after line {after_line}" if after_line else ""
    if name in reason and not where:
        return reason
    return f"{name}{where}: {reason}"


def _check_output_path(option: str, path: Path | None) -> None:
    """A file this run writes: not a folder, in a folder that exists (said before any write)."""
    if path is None:
        return
    if path.is_dir():
        raise CommandError(f"{option} {path}: is a directory")
    if not path.parent.is_dir():
        raise CommandError(f"{option} {path}: the folder {path.parent} does not exist")


def _same_file(a: Path, b: Path) -> bool:
    """The same file by inode when both exist (hard links, symlinks), else by resolved path."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def refuse_same_files(files: list[tuple[str, Path | None]]) -> None:
    """Refuse two of the run's files being one: writing the report over the input destroys it.

    ``files`` pairs an option's name with its path (None when not given); a new file option is
    one more pair. Called before anything is opened for writing.
    """
    given = [(name, path) for name, path in files if path is not None]
    for n, (name, path) in enumerate(given):
        for other_name, other in given[n + 1 :]:
            if _same_file(path, other):
                raise CommandError(
                    f"{other_name} {other} is the same file as {name} {path}: "
                    "it would be overwritten; give each its own file"
                )


class Upsert:
    """One run; :meth:`execute` returns the report, the exit status and the summary."""

    def __init__(self, options: UpsertOptions, *, err: Console) -> None:
        self.options = options
        self.err = err
        self.last: Progress | None = None
        self.interrupted: str | None = None
        self._view: ProgressView | None = None
        self._redact: Callable[[str], str] = str
        self._read = 0  # records read when a second Ctrl+C cut the run short
        self._started = time.monotonic()

    # -- the run -------------------------------------------------------------------------------

    def files(self) -> list[tuple[str, Path | None]]:
        """The files a run reads or writes, by option, for :func:`refuse_same_files`."""
        opts, state = self.options, self.options.settings.state
        return [
            ("INPUT", None if opts.input == "-" else Path(opts.input)),
            ("--report", opts.report),
            ("--state", state),
            # SQLite keeps these beside the state (and our lock): none may be another of them.
            ("--state's journal", None if state is None else Path(f"{state}-wal")),
            ("--state's lock", None if state is None else Path(f"{state}.lock")),
        ]

    def execute(self) -> RunResult:
        opts = self.options
        settings = opts.settings
        token = None if settings.dry_run else resolve_token(settings.token)
        try:
            base_url = resolve_base_url(settings.base_url)
        except ConfigError as exc:
            raise CommandError(f"base URL: {exc}") from None
        settings = dataclasses.replace(settings, token=token, base_url=base_url)
        if settings.transport is None and not settings.dry_run:
            settings = dataclasses.replace(settings, transport=proxied_transport(base_url))
        _check_output_path("--report", opts.report)
        _check_output_path("--state", settings.state)
        refuse_same_files(self.files())
        records, tracker = open_input(opts)
        self._started = time.monotonic()
        total = count_records(
            opts.input,
            format=opts.reading.get("format"),
            encoding=opts.reading.get("encoding", "utf-8"),
        )
        verb = "Checking" if settings.dry_run else "Upserting"
        self._view = progress_view(self.err, total, verb)
        redact = RedactingFilter([token] if token is not None else [])
        self._redact = redact.redact
        finished = abandoned = False
        extra: dict[str, Any] = {}
        quiet = logging.NullHandler()  # the runtime's log lines: the summary says it better
        logging.getLogger("hubspot_postal_mail").addHandler(quiet)
        try:
            if settings.dry_run:
                planned = plan(records, settings, on_progress=self._progress)
                report = planned.report
                extra = {
                    "would_send": planned.would_send,
                    "would_create": planned.would_create,
                    "would_update": planned.would_update,
                    "batches": planned.batches,
                }
            else:
                report = asyncio.run(self._send(records, settings))
            finished = report.stopped is None
        except (asyncio.CancelledError, KeyboardInterrupt):
            self._read = tracker.count
            report = self._abandoned()
            abandoned = True
        except StateError as exc:
            message = str(exc)
            if not message.startswith(str(settings.state)):
                message = f"{settings.state}: {message}"
            raise CommandError(f"--state {message}") from None
        except (InputError, UnicodeDecodeError) as exc:
            message = _input_message(opts.source_name, exc, tracker.last_line)
            raise self._stopped_by(message) from None
        except OSError as exc:
            problem = f"{exc.filename}: {exc.strerror}" if exc.filename else str(exc)
            raise self._stopped_by(redact.redact(problem)) from None
        finally:
            logging.getLogger("hubspot_postal_mail").removeHandler(quiet)
            self._view.close(finished=finished)
        if report.stop_reason is StopReason.INTERRUPTED and self.interrupted and not abandoned:
            report.stopped = f"interrupted ({self.interrupted}); requests in flight were finished"
        if report.stop_reason is StopReason.UNAUTHORISED and "MISSING_SCOPES" in (
            report.stopped or ""
        ):
            report.stopped = (
                f"{report.stopped}; give the private app the {REQUIRED_SCOPE} scope "
                "(its Scopes tab), then rerun"
            )
        status = report.exit_status
        summary = self._summary(report, extra)
        self._say(report, summary)
        return RunResult(report, status, summary)

    async def _send(self, records: Iterator[SourceLine], settings: UpsertSettings) -> UpsertReport:
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
            return await aupsert_all(records, settings, on_progress=self._progress, stop=stop)
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)

    def _progress(self, progress: Progress) -> None:
        self.last = progress
        if self._view is not None:
            self._view.update(progress)

    def _abandoned(self) -> UpsertReport:
        """The counts so far, when a second Ctrl+C cut the requests in flight short.

        The run's own report is lost with its task: the counts come from the last progress
        snapshot, the records read from the input (the snapshot may predate the last ones),
        the time from when this run started.
        """
        p = self.last
        report = UpsertReport(**p.counts()) if p is not None else UpsertReport()
        report.stop(
            StopReason.INTERRUPTED,
            f"interrupted ({self.interrupted or 'SIGINT'}); "
            "requests in flight were abandoned and will be sent again",
        )
        read = max(self._read, p.read if p is not None else 0)
        report.unfinished = max(0, read - report.total)
        report.elapsed_s = time.monotonic() - self._started
        return report

    def _stopped_by(self, message: str) -> CommandError:
        """Input or file trouble mid-run: 2 if nothing was sent yet, else 3 (resumable)."""
        if self.last is None or self.last.requests == 0:
            return CommandError(f"{message} (nothing was sent)", ExitStatus.USAGE)
        sent = self.last.created + self.last.updated
        where = (
            f"; rerun with --state {self.options.settings.state} to resume"
            if self.options.settings.state
            else ""
        )
        were = "was" if sent == 1 else "were"
        return CommandError(
            f"{message} ({plural(sent, 'record')} {were} written before it{where})",
            ExitStatus.STOPPED,
        )

    # -- saying what happened ------------------------------------------------------------------

    def _summary(self, report: UpsertReport, extra: dict[str, Any]) -> dict[str, Any]:
        opts, settings = self.options, self.options.settings
        rate = report.total / report.elapsed_s if report.elapsed_s > 0 else 0.0
        return {
            **report.summary(),
            "records_per_s": round(rate, 1),
            "input": opts.source_name,
            "id_property": settings.id_property,
            "base_url": settings.base_url,
            "report": str(opts.report) if opts.report else None,
            "state": str(settings.state) if settings.state else None,
            "full": settings.full,
            "dry_run": settings.dry_run,
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
                Text(f"stopped early: {visible(report.stopped)}", style="bold red"),
                soft_wrap=True,
            )
            if self.options.settings.state is not None:
                hint = (
                    f"the state {visible(str(self.options.settings.state))} is saved: "
                    "run the same command again to send what was not confirmed"
                )
            else:
                hint = (
                    "no --state was given, so a rerun sends everything again "
                    "(upserts are idempotent; next time add --state FILE)"
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
        report_file = self.options.report
        where = f"the report {visible(str(report_file))}" if report_file else "--report FILE"
        if more > 0:
            self.err.print(
                f"... and {more} more failed {'record' if more == 1 else 'records'}: see {where}",
                markup=False,
            )


def failure_line(source: str, result: RecordResult) -> str:
    """``file:line: record ID: failed: CATEGORY: message`` on one line, control characters from
    the id, the file name or HubSpot's message shown as escapes."""
    source = visible(source)
    record = f"record {visible(result.id)}" if result.id is not None else "record without an id"
    if result.error is None:
        return f"{source}:{result.line}: {record}: {result.outcome}"
    status = f" (HTTP {result.error.status})" if result.error.status else ""
    message = visible(" ".join(result.error.message.split()))
    category = visible(str(result.error.category))
    return f"{source}:{result.line}: {record}: failed: {category}{status}: {message}"


_OUTCOME_STYLE = {Outcome.CREATED: "green", Outcome.UPDATED: "cyan", Outcome.FAILED: "red"}


def summary_text(summary: dict[str, Any]) -> Text:
    """The human summary: what happened to the records, the traffic, where the report is."""
    text = Text()
    seconds = summary["elapsed_s"]
    if summary["dry_run"]:
        text.append("Dry run: nothing was sent.\n", style="bold")
        text.append(
            f"  {plural(summary['total'], 'record')} checked: {summary['would_send']} would be "
            f"sent in at least {plural(summary['batches'], 'request')}, "
        )
        text.append(f"{summary['failed']} invalid", style="red" if summary["failed"] else "")
        text.append(" (HubSpot may still refuse values only it checks)\n")
        if summary.get("state"):
            text.append(
                f"  by the state: {summary['would_create']} to create, "
                f"{summary['would_update']} to update, {summary['unchanged']} unchanged\n"
            )
    else:
        base_url = summary.get("base_url")
        to = f", to {visible(base_url)}" if base_url and base_url != DEFAULT_BASE_URL else ""
        text.append(
            f"{plural(summary['total'], 'record')} from {visible(summary['input'])} "
            f"in {seconds:.1f} s ({summary['records_per_s']:.0f} records/s), "
            f"by {visible(summary['id_property'])}{to}\n",
            style="bold",
        )
        text.append("  ")
        for n, outcome in enumerate(Outcome):
            count = summary[str(outcome)]
            style = (
                _OUTCOME_STYLE.get(outcome, "") if count or outcome is not Outcome.FAILED else ""
            )
            text.append(", " if n else "")
            text.append(f"{outcome} {count}", style=style)
        text.append("\n")
        text.append(
            f"  {plural(summary['requests'], 'request')}, {plural(summary['retries'], 'retry')}, "
            f"{summary['rate_limited']} rate-limited (429)\n"
        )
    if unfinished := summary["unfinished"]:
        text.append(f"  {plural(unfinished, 'record')} read but not finished\n", style="yellow")
    report = summary["report"]
    text.append(f"  report: {visible(report) if report else '(none: add --report FILE)'}")
    return text


def print_summary(out: Console, summary: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        out.file.write(json.dumps(summary) + "\n")
        out.file.flush()
    else:
        out.print(summary_text(summary), soft_wrap=True, highlight=False)


__all__ = [
    "CommandError",
    "RunResult",
    "Upsert",
    "UpsertOptions",
    "failure_line",
    "print_summary",
    "summary_text",
]
