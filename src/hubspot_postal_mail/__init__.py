"""Bulk upsert of postal-mail records into HubSpot, on top of the generated client.

    from hubspot_postal_mail import upsert_all, read_records
    report = upsert_all(read_records("mail.csv"), id_property="external_id")

Everything public is named here; the modules behind it (``_bulk``, ``_transport``...) are
private and may change. Errors a run raises derive from :class:`PostalMailError`.
"""

from ._bulk import aupsert_all, upsert_all
from ._config import Secret
from ._constants import ExitStatus
from ._exceptions import ConfigError, InputError, PostalMailError, StateError, StateLocked
from ._rate_limits import RateLimit
from ._readers import read_csv, read_jsonl, read_records
from ._records import SourceLine
from ._report import (
    Category,
    Outcome,
    Progress,
    RecordError,
    RecordResult,
    StopReason,
    UpsertReport,
)
from ._retry_policy import RetryPolicy
from ._settings import UpsertSettings
from ._spec import UPSERT_PATH

__version__ = "0.1.0"

__all__ = [
    "UPSERT_PATH",
    "Category",
    "ConfigError",
    "ExitStatus",
    "InputError",
    "Outcome",
    "PostalMailError",
    "Progress",
    "RateLimit",
    "RecordError",
    "RecordResult",
    "RetryPolicy",
    "Secret",
    "SourceLine",
    "StateError",
    "StateLocked",
    "StopReason",
    "UpsertReport",
    "UpsertSettings",
    "aupsert_all",
    "read_csv",
    "read_jsonl",
    "read_records",
    "upsert_all",
]
