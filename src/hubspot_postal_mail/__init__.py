"""Bulk upsert of postal-mail records into HubSpot, on top of the generated client."""

from ._bulk import Progress, aupsert_all, upsert_all
from ._pacing import RateLimit
from ._report import Outcome, RecordError, RecordResult, UpsertReport
from ._retry_policy import RetryPolicy
from ._spec import UPSERT_PATH

__version__ = "0.1.0"

__all__ = [
    "UPSERT_PATH",
    "Outcome",
    "Progress",
    "RateLimit",
    "RecordError",
    "RecordResult",
    "RetryPolicy",
    "UpsertReport",
    "aupsert_all",
    "upsert_all",
]
