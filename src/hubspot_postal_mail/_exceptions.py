"""The errors a run raises, under one base, as httpx keeps its tree in ``_exceptions``.

    PostalMailError            anything this package raises about a run
    ├── ConfigError            bad settings (token, base URL, options): nothing was sent
    ├── InputError             the input as a whole is unreadable: nothing was sent
    └── CheckpointError        the checkpoint belongs to another run, or is not one

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


class CheckpointError(PostalMailError, ValueError):
    """The checkpoint belongs to another kind of run, or is not a checkpoint at all."""
