"""Turning whatever the caller gives into one upsert input, or a reason why not.

A record is a flat mapping (its fields are the properties, the field named by ``id_property``
gives the ``id``), a mapping already in the API's input shape (``{"id", "properties", ...}``),
the generated ``SimplePublicObjectBatchInputUpsert``, or a :class:`SourceLine` from a reader.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hubspot_postal_mail_client.models import SimplePublicObjectBatchInputUpsert
from hubspot_postal_mail_client.types import Unset

from ._convert import CLEAR, DEFAULT_RULES, ValueRules, ensure_text, property_value
from ._report import Category, Outcome, RecordError, RecordResult

API_KEYS = frozenset({"id", "properties", "idProperty", "objectWriteTraceId"})


@dataclass(slots=True)  # not frozen: one per record, and frozen costs 1 us each
class SourceLine:
    """One line (or row) of an input: its data, or why it could not be read.

    A reader has already converted ``data``'s values to property strings by the run's rules
    (empties left out or kept on purpose); only the id field may still be raw. ``id`` is the
    record's id, where known, when ``error`` says why the record cannot be sent.
    """

    line: int
    data: Mapping[str, Any] | None = None
    error: str | None = None
    id: str | None = None


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


def _id_value(value: Any) -> str:
    if type(value) is str:  # the common case, first
        text = value.strip()
    elif isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"id must be a string or an integer (got {type(value).__name__})")
    else:
        text = str(value).strip()
    if not text:
        raise ValueError("id is empty")
    return ensure_text(text, "the id")


_AS_READ = ValueRules(empty=CLEAR)  # a reader applied the run's rules already


def _properties(values: Mapping[Any, Any], rules: ValueRules) -> dict[str, str]:
    if rules is _AS_READ:
        return dict(values)  # a reader's output: names checked and values converted already
    props: dict[str, str] = {}
    for name, value in values.items():
        if type(name) is not str or not name:
            raise ValueError(f"property name {name!r} is not a non-empty string")
        ensure_text(name, f"property name {name!r}")
        text = property_value(value, name, rules)
        if text is not None:
            props[name] = text
    return props


def is_api_shape(data: Mapping[str, Any]) -> bool:
    """``{"id", "properties", ...}`` with nothing else: the API's own input shape."""
    return (
        "properties" in data and isinstance(data["properties"], Mapping) and set(data) <= API_KEYS
    )


def normalise(
    raw: Any, *, id_property: str, line: int, rules: ValueRules = DEFAULT_RULES
) -> UpsertInput | InvalidRecord:
    """One upsert input from one record, or the reason it cannot be sent.

    Values are converted by ``rules`` (see :mod:`._convert`): by default a ``None`` or ``""``
    is not sent. A :class:`SourceLine`'s values were converted by its reader, and stay.
    """
    if isinstance(raw, SourceLine):
        line = raw.line
        if raw.error is not None or raw.data is None:
            return InvalidRecord(line, raw.id, raw.error or "no data")
        raw = raw.data  # a reader's dict: neither a model nor something else
        rules = _AS_READ
    else:
        if isinstance(raw, SimplePublicObjectBatchInputUpsert):
            raw = raw.to_dict()
        if type(raw) is not dict and not isinstance(raw, Mapping):
            return InvalidRecord(
                line, None, f"a record must be a mapping, got {type(raw).__name__}"
            )
    record_id: str | None = None
    try:
        if is_api_shape(raw):
            own = raw.get("idProperty")
            if own is not None and not isinstance(own, Unset) and own != id_property:
                raise ValueError(f"idProperty {own!r} differs from the run's {id_property!r}")
            if "id" not in raw:
                raise ValueError("missing id")
            record_id = _id_value(raw["id"])
            props = _properties(raw["properties"], rules)
        else:
            if id_property not in raw:
                raise ValueError(f"missing id field {id_property!r}")
            given = raw[id_property]
            # A reader's text id, checked by the reader: the common case, first.
            record_id = given.strip() if rules is _AS_READ and type(given) is str else ""
            if not record_id:
                record_id = _id_value(given)  # checks, converts an integer, or says why not
            if rules is _AS_READ and given is record_id and type(raw) is dict:  # a reader's row
                props = raw
            else:
                props = _properties(raw, rules)
                props[id_property] = record_id
    except ValueError as error:
        return InvalidRecord(line, record_id, str(error))
    return UpsertInput(line, record_id, props)
