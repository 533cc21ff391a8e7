"""A run's progress for people: a live bar on a terminal, plain periodic lines otherwise.

Both views take the runtime's :class:`~hubspot_postal_mail._bulk.Progress` snapshots. The bar is
rich's; the lines suit logs and CI (one every few seconds, and one at the end). The total, when
known, comes from a cheap count of the input's records (:func:`count_records`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, ProgressColumn, Task, TextColumn
from rich.progress import Progress as RichProgress
from rich.table import Column
from rich.text import Text

from ._readers import count_in
from ._report import Progress
from ._text import plural

PLAIN_INTERVAL_S = 5.0  # seconds between two plain progress lines


class ProgressView(Protocol):
    def update(self, progress: Progress) -> None: ...

    def note(self, text: str) -> None:
        """A message for the person watching, without breaking the display."""

    def close(self, *, finished: bool) -> None: ...


def count_records(
    source: str | Path,
    *,
    format: str | None = None,
    encoding: str = "utf-8",
) -> int | None:
    """How many records an input holds, for the total, or None if unknown (stdin).

    Parquet from its footer; CSV and TSV by rows (a line break inside a quoted field does not
    end one), JSON lines by non-blank lines; gzip read through. See :func:`._readers.count_in`.
    """
    return count_in(source, format=format, encoding=encoding)


def _rate(progress: Progress) -> float:
    """Records finished per second (unchanged ones, which the state let us skip, included)."""
    return progress.done / progress.elapsed_s if progress.elapsed_s > 0 else 0.0


def _eta(progress: Progress, total: int | None) -> str:
    rate = _rate(progress)
    left = None if total is None else total - progress.done
    if left is None or left <= 0 or rate <= 0:
        return "-"
    return _clock(left / rate)


def _clock(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _counters(progress: Progress) -> str:
    return (
        f"{plural(progress.requests, 'request')}, {plural(progress.retries, 'retry')}, "
        f"{progress.rate_limited} rate-limited (429)"
    )


def plain_line(progress: Progress, total: int | None) -> str:
    """One line of progress, for logs: done, share, rate, ETA, requests, retries, 429s."""
    position = progress.done
    if total:
        share = min(100, 100 * position // total)
        where = f"{position} of about {plural(total, 'record')} ({share}%)"
    else:
        where = plural(position, "record")
    unchanged = f" ({progress.unchanged} unchanged)" if progress.unchanged else ""
    eta = _eta(progress, total)
    return (
        f"{where}{unchanged}, {_rate(progress):.0f} records/s"
        + (f", ETA {eta}" if eta != "-" else "")
        + f"; {_counters(progress)}; {progress.failed} failed"
    )


class PeriodicLines:
    """Plain lines on a console that is not a terminal: at most one per ``interval`` seconds."""

    def __init__(self, console: Console, total: int | None, interval: float | None = None) -> None:
        self._console = console
        self._total = total
        self._interval = PLAIN_INTERVAL_S if interval is None else interval
        self._last_shown = time.monotonic()
        self._latest: Progress | None = None
        self._shown: Progress | None = None

    def update(self, progress: Progress) -> None:
        self._latest = progress
        now = time.monotonic()
        if now - self._last_shown >= self._interval:
            self._last_shown = now
            self._show(progress)

    def _show(self, progress: Progress) -> None:
        self._shown = progress
        self._console.print(f"progress: {plain_line(progress, self._total)}", soft_wrap=True)

    def note(self, text: str) -> None:
        self._console.print(text, soft_wrap=True, markup=False)

    def close(self, *, finished: bool) -> None:
        if self._latest is not None and self._latest is not self._shown:
            self._show(self._latest)


class _Tail(ProgressColumn):
    """The elapsed time and the counters: shown as far as they fit, then cut with an ellipsis.

    Its table column may wrap, so rich narrows it (and the bar) first when the terminal is
    narrow; its text never wraps, so it stays on the bar's one line.
    """

    def __init__(self) -> None:
        super().__init__(table_column=Column(no_wrap=False))

    def render(self, task: Task) -> Text:
        return Text(
            f"elapsed {task.fields['elapsed']}; {task.fields['counters']}",
            style="dim",
            no_wrap=True,
            overflow="ellipsis",
        )


class LiveBar:
    """rich's progress bar, on a terminal: records, ETA, records/s, then elapsed, requests,
    retries and 429s, which give way first on a narrow terminal (80 columns keep the rest)."""

    def __init__(self, console: Console, total: int | None, description: str) -> None:
        self._total = total
        fixed = Column(no_wrap=True)  # never narrowed: the count, the ETA, the rate
        self._bar = RichProgress(
            TextColumn("[bold]{task.description}", table_column=fixed),
            BarColumn(table_column=Column(no_wrap=False)),  # narrowed first, with _Tail
            TextColumn(
                "{task.completed}/{task.fields[shown_total]}, ETA {task.fields[eta]}, "
                "{task.fields[rate]}",
                table_column=Column(no_wrap=True),
            ),
            _Tail(),
            console=console,
            refresh_per_second=8,
        )
        self._task = self._bar.add_task(
            description,
            total=total,
            shown_total="?" if total is None else total,
            rate="0 rec/s",
            elapsed="0:00",
            eta="-",
            counters="",
        )
        self._position = 0
        self._bar.start()

    def update(self, progress: Progress) -> None:
        self._position = progress.done
        if self._total is not None and self._position > self._total:
            self._total = self._position  # the line count was an estimate
            self._bar.update(self._task, total=self._total, shown_total=self._total)
        self._bar.update(
            self._task,
            completed=self._position,
            rate=f"{_rate(progress):.0f} rec/s",
            elapsed=_clock(progress.elapsed_s),
            eta=_eta(progress, self._total),
            counters=_counters(progress),
        )

    def note(self, text: str) -> None:
        self._bar.console.print(Text(text, style="yellow"), soft_wrap=True)

    def close(self, *, finished: bool) -> None:
        if finished:
            self._bar.update(
                self._task,
                total=self._position,
                shown_total=self._position,
                completed=self._position,
                eta="-",
            )
        self._bar.stop()


def progress_view(console: Console, total: int | None, description: str) -> ProgressView:
    """The bar on a terminal, periodic lines elsewhere (a pipe, a log file, CI)."""
    if console.is_terminal:
        return LiveBar(console, total, description)
    return PeriodicLines(console, total)
