"""Values as HubSpot reads them, and columns as the user names them.

HubSpot takes every property value as a string and parses it by the property's type, so a
typed value (from Parquet, a DataFrame or Python) is written in the form HubSpot reads:

- ``date`` -> midnight UTC in epoch milliseconds (what a date property stores);
- timezone-aware ``datetime`` -> epoch milliseconds (UTC); one form for both, exact, and the
  one every HubSpot datetime property accepts. A naive ``datetime`` is refused (the record is
  INVALID_INPUT, naming the column) unless a time zone to assume is given;
- ``Decimal`` and ``int`` as written, never through a float (``Decimal("1.10")`` -> ``"1.10"``);
  a ``float`` by its shortest exact form, without an exponent;
- ``bool`` -> ``true`` / ``false``;
- ``None`` and ``""`` -> not sent (:data:`SKIP`), so a missing value never clears what HubSpot
  holds; with :data:`CLEAR` they are sent as ``""`` on purpose.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Empty = Literal["skip", "clear"]
SKIP: Empty = "skip"  # null and empty values are left out: HubSpot keeps what it has
CLEAR: Empty = "clear"  # null and empty values are sent as "": HubSpot clears the property
EMPTY_CHOICES: tuple[Empty, ...] = (SKIP, CLEAR)

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_EPOCH_DAY = dt.date(1970, 1, 1)
_MS = dt.timedelta(milliseconds=1)
DAY_MS = 86_400_000


@dataclass(frozen=True)
class ValueRules:
    """How values become property strings: what to do with empties, which zone naive times are."""

    empty: Empty = SKIP
    timezone: dt.tzinfo | None = None

    def __post_init__(self) -> None:
        if self.empty not in EMPTY_CHOICES:
            raise ValueError(f"empty must be one of {', '.join(EMPTY_CHOICES)}, not {self.empty!r}")


DEFAULT_RULES = ValueRules()


def parse_timezone(name: str) -> ZoneInfo:
    """An IANA zone (``Europe/Dublin``, ``UTC``) for naive datetimes, or a ValueError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name such as Europe/Dublin)"
        ) from None


def parse_mapping(items: Iterable[str]) -> dict[str, str]:
    """``COLUMN=PROPERTY`` items as a dict; a ValueError names the item that is wrong."""
    mapping: dict[str, str] = {}
    for item in items:
        column, sep, prop = item.partition("=")
        column, prop = column.strip(), prop.strip()
        if not sep or not column or not prop:
            raise ValueError(f"{item!r} is not COLUMN=PROPERTY")
        if column in mapping and mapping[column] != prop:
            raise ValueError(f"column {column!r} is mapped twice ({mapping[column]}, {prop})")
        mapping[column] = prop
    return mapping


def parse_columns(text: str | Iterable[str]) -> tuple[str, ...]:
    """``a,b,c`` (or a list of names) as a tuple of names, none empty."""
    names = text.split(",") if isinstance(text, str) else list(text)
    cleaned = tuple(name.strip() for name in names)
    if not cleaned or not all(cleaned):
        raise ValueError(f"{text!r}: expected column names separated by commas")
    return cleaned


def epoch_ms(value: dt.datetime, column: str, rules: ValueRules) -> int:
    if value.tzinfo is None or value.utcoffset() is None:
        if rules.timezone is None:
            raise ValueError(
                f"column {column!r}: {value.isoformat()} has no time zone; "
                "give one in the data or assume one with --assume-timezone (e.g. UTC)"
            )
        value = value.replace(tzinfo=rules.timezone)
    return (value - _EPOCH) // _MS


def plain_float(value: float, column: str) -> str:
    """Shortest exact form, never with an exponent (HubSpot's number parser wants plain); a
    whole number without ``.0`` (pandas turns an integer column with a gap into floats)."""
    if not math.isfinite(value):
        raise ValueError(f"column {column!r} is not a finite number")
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        text = format(Decimal(text), "f")
    return text


def ensure_text(value: str, what: str) -> str:
    """``value`` itself, unless it holds a lone surrogate (JSON's ``"\\ud800"``, or Python's
    ``"\\udc80"`` from bytes decoded with ``surrogateescape``): that is not text, so it can be
    neither sent as UTF-8 nor kept in the state, and its record is refused alone."""
    if not value.isascii():  # constant time: the common case costs nothing more
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:
            raise ValueError(
                f"{what} holds a lone surrogate ({value[error.start]!r} at character "
                f"{error.start + 1}), which is not text"
            ) from None
    return value


def property_value(value: Any, column: str, rules: ValueRules = DEFAULT_RULES) -> str | None:
    """``value`` as HubSpot reads it, or None when it is not to be sent; ValueError if none."""
    kind = type(value)
    if kind is str:
        if value or rules.empty == CLEAR:
            return ensure_text(value, f"column {column!r}")
        return None
    if value is None:
        return "" if rules.empty == CLEAR else None
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return _int_text(value, column)
    if kind is float:
        return plain_float(value, column)
    return _other(value, column, rules)


def _int_text(value: int, column: str) -> str:
    try:
        return str(value)
    except ValueError:  # more digits than int->str allows
        raise ValueError(f"column {column!r}: an integer too long to write") from None


def _other(value: Any, column: str, rules: ValueRules) -> str | None:
    """The rarer types, subclasses (pandas' Timestamp is a datetime) and numpy scalars."""
    if isinstance(value, str):
        return property_value(str(value), column, rules)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return _int_text(int(value), column)
    if isinstance(value, float):
        return plain_float(float(value), column)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"column {column!r} is not a finite number")
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return str(epoch_ms(value, column, rules))
    if isinstance(value, dt.date):
        return str((value - _EPOCH_DAY).days * DAY_MS)
    if isinstance(value, Mapping | list | tuple | set):
        raise ValueError(f"column {column!r} is not a scalar value (got {type(value).__name__})")
    item = getattr(value, "item", None)  # numpy scalars: np.int64, np.float64, np.bool_
    if callable(item) and type(value).__module__ == "numpy":
        plain = item()
        if type(plain) in (bool, int, float):
            return property_value(plain, column, rules)
    raise ValueError(
        f"column {column!r} is not a value HubSpot can store (got {type(value).__name__}); "
        "send it as text"
    )


@dataclass(frozen=True)
class Fields:
    """Which input columns are sent, under which property names (``--map``, ``--columns``).

    Unmapped columns pass through under their own name; with ``columns``, only those (named
    by input column or by the property they map to) are sent, and the id column always is.
    """

    mapping: Mapping[str, str] = field(default_factory=dict)
    columns: Sequence[str] | None = None
    id_property: str | None = None

    @property
    def is_identity(self) -> bool:
        return not self.mapping and self.columns is None

    def _sent(self, name: str, prop: str) -> bool:
        """Whether column ``name``, sent as ``prop``, is chosen (the id's always is)."""
        return (
            self.columns is None
            or name in self.columns
            or prop in self.columns
            or (self.id_property is not None and prop == self.id_property)
        )

    def plan(self, names: Sequence[str], *, where: str = "the header") -> list[tuple[int, str]]:
        """For a header: (position, property) of each column to send; ValueError names why not.

        Checks the names themselves (empty or repeated), that every ``--map`` and ``--columns``
        name is a column, that no two columns give one property, and that one gives the id.
        """
        seen: dict[str, int] = {}
        for position, name in enumerate(names, start=1):
            if not name:
                raise ValueError(f"column {position} of {where} has no name")
            if name in seen:
                raise ValueError(
                    f"column {name!r} appears twice in {where} "
                    f"(columns {seen[name]} and {position})"
                )
            seen[name] = position
        listing = ", ".join(names)
        for column in self.mapping:
            if column not in seen:
                raise ValueError(f"--map {column}=...: no column {column!r} (columns: {listing})")
        props = [self.mapping.get(name, name) for name in names]
        unknown = [c for c in self.columns or () if c not in seen and c not in props]
        if unknown:
            raise ValueError(f"--columns {unknown[0]}: no such column (columns: {listing})")
        sent = self.apply({name: index for index, name in enumerate(names)})
        chosen = [(index, prop) for prop, index in sent.items()]
        if self.id_property is not None and self.id_property not in sent:
            mapped = " (or --map COLUMN=" + self.id_property + ")"
            raise ValueError(
                f"no column gives the id property {self.id_property!r}{mapped}; columns: {listing}"
            )
        return chosen

    def apply(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Rename and select a record's fields (a JSON line's, or a header's positions)."""
        out: dict[str, Any] = {}
        given_by: dict[str, str] = {}
        for name, value in record.items():
            prop = self.mapping.get(name, name)
            if not self._sent(name, prop):
                continue
            if prop in given_by:
                raise ValueError(
                    f"columns {given_by[prop]!r} and {name!r} both give property {prop!r}"
                )
            given_by[prop] = name
            out[prop] = value
        return out


def all_text(values: Iterable[Any]) -> bool:
    """Whether every value is a string. ``str.join`` checks that in C, for a tenth of what
    a loop costs, and records have few values."""
    try:
        "".join(values)
    except TypeError:
        return False
    return True


def convert_record(
    record: Mapping[str, Any], rules: ValueRules, *, keep: str | None = None
) -> dict[str, Any]:
    """Every value as a property string, the ones not to send left out; ``keep`` (the id
    field) is left as it is, for :func:`~._records.normalise` to check. A dict with nothing
    to change is returned itself, not copied."""
    clear = rules.empty == CLEAR
    if type(record) is dict and all_text(record.values()) and (clear or all(record.values())):
        return record  # nothing to convert or leave out: most rows of most inputs
    out: dict[str, Any] = {}
    for name, value in record.items():
        if type(value) is str and name != keep:  # the common case, first
            if value or clear:
                out[name] = value
            continue
        if name == keep:
            out[name] = value
            continue
        text = property_value(value, name, rules)
        if text is not None:
            out[name] = text
    return out
