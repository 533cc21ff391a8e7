"""One settings value for a run, as httpx has ``Timeout`` and ``Limits``: declared once, taken by
``upsert_all``, ``aupsert_all``, the dry run and the command line alike.

A new setting is one field here (its default in :mod:`._constants`); the functions take it by
name (``upsert_all(records, id_property=..., new_setting=...)``) or inside a settings value.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Any, Literal

import httpx

from ._config import Secret
from ._constants import (
    DEFAULT_ATTEMPT_DEADLINE_S,
    DEFAULT_CONCURRENCY,
    DEFAULT_TIMEOUT,
    DEFAULT_UNREACHABLE_AFTER,
    MAX_BATCH,
)
from ._convert import ValueRules, parse_timezone
from ._exceptions import ConfigError
from ._rate_limits import DEFAULT_RATE_LIMIT, RateLimit
from ._report import ReportTarget
from ._retry_policy import RetryPolicy


@dataclass(frozen=True, kw_only=True)
class UpsertSettings:
    """Everything one run needs besides its records; every field but ``id_property`` has a default.

    ``token``: a string or :class:`Secret`; None reads ``HUBSPOT_ACCESS_TOKEN`` when the run starts.
    ``base_url``: None reads ``HUBSPOT_BASE_URL``, else HubSpot's.
    ``rate_limit``: the budget, a :class:`RateLimit`, ``"N/SECONDS"`` or ``(N, SECONDS)``.
    ``concurrency``: ``"auto"`` keeps enough requests in flight to use the budget at the latency
    HubSpot shows; a number caps that.
    ``attempt_deadline``: seconds one attempt may take, body included.
    ``unreachable_after``: (attempts, seconds): that many connect failures in a row, over at
    least that long, stop the run (resumably) as HubSpot unreachable.
    ``state``: the sync state (a SQLite file): records HubSpot already holds are not sent, and
    a rerun after a stop or a crash sends only what was not confirmed. ``checkpoint`` is the
    old name of the same setting.
    ``full``: with a state, send every record anyway (and refresh the state).
    ``shared_budget``: a Redis URL; every run naming it (with the same token) draws from one
    budget, HubSpot's or ``rate_limit``.
    ``report``: a path, a text stream or a callable that gets one entry per record.
    ``transport``: the innermost httpx transport (tests, proxies); retries and pacing wrap it.
    ``dry_run``: read, validate and batch as a run would; send nothing.
    ``empty``: ``"skip"`` leaves a null or empty value out (HubSpot keeps what it holds);
    ``"clear"`` sends it as ``""``, which clears the property in HubSpot.
    ``assume_timezone``: the IANA zone of naive datetimes (else such a value is invalid).
    """

    id_property: str
    token: Secret | None = field(default=None, repr=False)
    base_url: str | None = None
    concurrency: int | Literal["auto"] = DEFAULT_CONCURRENCY
    rate_limit: RateLimit = DEFAULT_RATE_LIMIT
    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)
    batch_size: int = MAX_BATCH
    http_timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)
    attempt_deadline: float = DEFAULT_ATTEMPT_DEADLINE_S
    unreachable_after: tuple[int, float] = DEFAULT_UNREACHABLE_AFTER
    state: Path | None = None
    shared_budget: str | None = None
    full: bool = False
    checkpoint: Path | None = field(default=None, repr=False)  # the old name of ``state``
    rules: ValueRules = field(init=False, repr=False, compare=False)  # from empty, assume_timezone
    report: ReportTarget | None = None
    transport: httpx.AsyncBaseTransport | None = field(default=None, repr=False, compare=False)
    dry_run: bool = False
    empty: Literal["skip", "clear"] = "skip"
    assume_timezone: str | None = None

    def __post_init__(self) -> None:
        # Accept the forms a caller naturally has; store one form.
        if isinstance(self.token, str):
            object.__setattr__(self, "token", Secret(self.token))
        if not isinstance(self.rate_limit, RateLimit):
            object.__setattr__(self, "rate_limit", RateLimit.coerce(self.rate_limit))
        if self.checkpoint is not None:
            if self.state is not None and Path(self.state) != Path(self.checkpoint):
                raise ConfigError("give state or its old name checkpoint, not both")
            object.__setattr__(self, "state", self.checkpoint)
            object.__setattr__(self, "checkpoint", None)
        if self.state is not None and not isinstance(self.state, Path):
            object.__setattr__(self, "state", Path(self.state))
        if self.retry_policy is None:
            object.__setattr__(self, "retry_policy", RetryPolicy())
        if not isinstance(self.id_property, str) or not self.id_property.strip():
            raise ConfigError("id_property is required: the unique-value property to upsert by")
        if self.concurrency != "auto" and (
            not isinstance(self.concurrency, int) or self.concurrency < 1
        ):
            raise ConfigError(f"concurrency must be 'auto' or at least 1, got {self.concurrency!r}")
        try:
            object.__setattr__(self, "rules", ValueRules(self.empty, self._zone()))
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        if not self.attempt_deadline > 0:
            raise ConfigError("attempt_deadline must be positive")
        if not 1 <= self.batch_size <= MAX_BATCH:
            raise ConfigError(f"batch_size must be between 1 and {MAX_BATCH}")

    def _zone(self) -> tzinfo | None:
        return None if self.assume_timezone is None else parse_timezone(self.assume_timezone)

    @classmethod
    def of(cls, settings: UpsertSettings | None = None, **options: Any) -> UpsertSettings:
        """``settings`` with ``options`` applied (or new settings from ``options`` alone)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - names)
        if unknown:
            raise TypeError(f"unknown setting(s) {', '.join(unknown)}; known: {sorted(names)}")
        if settings is None:
            if "id_property" not in options:
                raise ConfigError("id_property is required: the unique-value property to upsert by")
            return cls(**options)
        return dataclasses.replace(settings, **options) if options else settings
