"""Turning whatever the caller gives into one upsert input, or a reason why not.

A record is a flat mapping (its fields are the properties, the field named by ``id_property``
gives the ``id``), a mapping already in the API's input shape (``{"id", "properties", ...}``),
the generated ``SimplePublicObjectBatchInputUpsert``, or a :class:`SourceLine` from a reader.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hubspot_postal_mail_client.models import SimplePublicObjectBatchInputUpsert
from hubspot_postal_mail_client.types import Unset

from ._report import Category, Outcome, RecordError, RecordResult

API_KEYS = frozenset({"id", "properties", "idProperty", "objectWriteTraceId"})


@dataclass(frozen=True)
class SourceLine:
    """One line of an input file: its data, or why it could not be read."""

    line: int
    data: Mapping[str, Any] | None = None
    error: str | None = None


@dataclass(slots=True)  # not frozen: one per record, and frozen costs 1 us each
class UpsertInput:
    """A valid record, ready to send."""

    line: int
    id: str
    properties: dict[str, str]


@dataclass(frozen=True)
class InvalidRecord:
    """A record that is reported and never sent."""

    line: int
    id: str | None
    reason: str

    def result(self, redact: Callable[[str], str] = str) -> RecordResult:
        """Its report line: ``failed``, ``INVALID_INPUT``, the reason."""
        error = RecordError(Category.INVALID_INPUT, redact(self.reason))
        return RecordResult(self.line, self.id, Outcome.FAILED, error=error)


def _scalar(value: Any, what: str) -> str:
    """HubSpot wants strings: booleans as true/false, numbers as written, null as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{what} is not a finite number")
        return repr(value)
    raise ValueError(f"{what} is not a scalar value (got {type(value).__name__})")


def _id_value(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"id must be a string or an integer (got {type(value).__name__})")
    text = str(value).strip()
    if not text:
        raise ValueError("id is empty")
    return text


def _properties(values: Mapping[Any, Any]) -> dict[str, str]:
    props: dict[str, str] = {}
    for name, value in values.items():
        if type(name) is not str or not name:
            raise ValueError(f"property name {name!r} is not a non-empty string")
        # Text, the usual case, as is; anything else by the rules of _scalar.
        props[name] = value if type(value) is str else _scalar(value, f"property {name!r}")
    return props


def is_api_shape(data: Mapping[str, Any]) -> bool:
    """``{"id", "properties", ...}`` with nothing else: the API's own input shape."""
    return (
        "properties" in data and isinstance(data["properties"], Mapping) and set(data) <= API_KEYS
    )


def normalise(raw: Any, *, id_property: str, line: int) -> UpsertInput | InvalidRecord:
    """One upsert input from one record, or the reason it cannot be sent."""
    if isinstance(raw, SourceLine):
        line = raw.line
        if raw.error is not None or raw.data is None:
            return InvalidRecord(line, None, raw.error or "no data")
        raw = raw.data
    if isinstance(raw, SimplePublicObjectBatchInputUpsert):
        raw = raw.to_dict()
    if type(raw) is not dict and not isinstance(raw, Mapping):
        return InvalidRecord(line, None, f"a record must be a mapping, got {type(raw).__name__}")
    record_id: str | None = None
    try:
        if is_api_shape(raw):
            own = raw.get("idProperty")
            if own is not None and not isinstance(own, Unset) and own != id_property:
                raise ValueError(f"idProperty {own!r} differs from the run's {id_property!r}")
            if "id" not in raw:
                raise ValueError("missing id")
            record_id = _id_value(raw["id"])
            props = _properties(raw["properties"])
        else:
            if id_property not in raw:
                raise ValueError(f"missing id field {id_property!r}")
            record_id = _id_value(raw[id_property])
            props = _properties(raw)
            props[id_property] = record_id
    except ValueError as error:
        return InvalidRecord(line, record_id, str(error))
    return UpsertInput(line, record_id, props)
