"""The errors a run raises, under one base, as httpx keeps its tree in ``_exceptions``.

    PostalMailError            anything this package raises about a run
    ├── ConfigError            bad settings (token, base URL, options): nothing was sent
    ├── InputError             the input as a whole is unreadable: nothing was sent
    └── StateError             the sync state belongs to another run, or is not one
        └── StateLocked        another run is using the sync state now

Per-record problems are never raised: they end in the report as ``failed``.
"""

from __future__ import annotations

from ._constants import ExitStatus


class PostalMailError(Exception):
    """Base of every run-level error; ``exit_status`` is what the command line exits with."""

    exit_status: ExitStatus = ExitStatus.USAGE


class ConfigError(PostalMailError, ValueError):
    """A setting that cannot work, worded for the person who set it."""


class InputError(PostalMailError, ValueError):
    """The input as a whole is unreadable: nothing should be sent."""


class StateError(PostalMailError, ValueError):
    """The sync state cannot be used for this run: another run's, not a state, unreadable."""


class StateLocked(StateError):
    """Another run (or another State in this process) is using the state file."""
