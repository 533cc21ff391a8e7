"""Bulk upsert of postal-mail records into HubSpot, on top of the generated client."""

from .bulk import Progress, aupsert_all, upsert_all
from .pacing import RateLimit
from .report import Outcome, RecordError, RecordResult, UpsertReport
from .retry_policy import RetryPolicy

__version__ = "0.1.0"

__all__ = [
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
