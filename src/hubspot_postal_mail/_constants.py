"""Every default of a run, and the exit statuses, in one place (as openai-python's ``_constants``).

A default changes here and nowhere else; the CLI's help text, the settings and the transport all
read it from this module.
"""

from __future__ import annotations

import enum
from typing import Final

import httpx

MAX_BATCH: Final = 100  # inputs per request: HubSpot refuses more
# Requests in flight: "auto" follows HubSpot's latency (see _concurrency), a number caps it.
DEFAULT_CONCURRENCY: Final = "auto"
# HubSpot answers a batch of 100 in about a second; a minute without a byte means trouble.
DEFAULT_TIMEOUT: Final = httpx.Timeout(60.0, connect=10.0, pool=120.0)
# One attempt, body included, ends by then (a trickling server cannot hold a batch for ever).
DEFAULT_ATTEMPT_DEADLINE_S: Final = 120.0
# A 100-result answer is ~60 kB; a compressed answer inflating past this is a fault.
DEFAULT_MAX_ANSWER_BYTES: Final = 16 * 1024 * 1024
# HubSpot unreachable: this many attempts in a row failed to connect, over at least this long.
DEFAULT_UNREACHABLE_AFTER: Final = (10, 30.0)
DEFAULT_RATE_LIMIT_TEXT: Final = "100/10"  # HubSpot's smallest tier (Free/Starter), per app
# Retries (RetryPolicy): attempts per request, backoff from/to, the longest Retry-After waited.
DEFAULT_MAX_ATTEMPTS: Final = 6
DEFAULT_INITIAL_WAIT_S: Final = 0.5
DEFAULT_MAX_WAIT_S: Final = 30.0
DEFAULT_MAX_RETRY_AFTER_S: Final = 120.0

TOKEN_ENV: Final = "HUBSPOT_ACCESS_TOKEN"  # noqa: S105 - the variable's name, not a token
BASE_URL_ENV: Final = "HUBSPOT_BASE_URL"
DEFAULT_BASE_URL: Final = "https://api.hubapi.com"
REQUIRED_SCOPE: Final = "crm.objects.contacts.write"  # HubSpot's scope for writing postal mail


class ExitStatus(enum.IntEnum):
    """What ``postal-mail`` exits with (DESIGN.md's interface)."""

    OK = 0  # every record was written
    FAILED = 1  # some records failed, each in the report
    USAGE = 2  # bad usage or unreadable input: nothing was sent
    STOPPED = 3  # stopped early; a rerun with the same state/checkpoint resumes
