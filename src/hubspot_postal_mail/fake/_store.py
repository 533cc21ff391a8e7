"""The fake account's postal-mail records, indexed by every unique property.

The server writes from its event loop while a test reads from its own thread, so every
access takes the lock; readers get immutable snapshots.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """One record as HubSpot would hold it: its object id and every property value."""

    id: str
    properties: Mapping[str, str]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Write:
    """Set ``properties`` on the record whose ``id_property`` equals ``id`` (or create it)."""

    id_property: str
    id: str
    properties: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Conflict:
    """A write would set unique property ``name`` to ``value``, which another record holds.

    ``holder`` is that record's object id; None when the value is claimed by an earlier write
    of the same batch that creates a new record (so there is no id to name yet).
    """

    name: str
    value: str
    holder: str | None


class UniqueValueTaken(RuntimeError):
    """Raised by ``RecordStore.upsert`` for a write that would break a unique property."""


def timestamp(moment: datetime) -> str:
    """HubSpot's timestamp format: ISO 8601, UTC, milliseconds, ``Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class RecordStore:
    """Records by object id, plus an index (unique property, value) -> object id."""

    def __init__(self, unique_properties: Iterable[str], first_object_id: int) -> None:
        self._unique = frozenset(unique_properties)
        self._first_id = first_object_id
        self._lock = threading.Lock()
        self._records: dict[str, StoredRecord] = {}
        self._index: dict[tuple[str, str], str] = {}
        self._next_id = first_object_id

    def owner(self, name: str, value: str) -> str | None:
        """Object id of the record whose unique property ``name`` is ``value``."""
        with self._lock:
            return self._index.get((name, value))

    def find(self, name: str, value: str) -> StoredRecord | None:
        with self._lock:
            object_id = self._index.get((name, value))
            return self._records[object_id] if object_id is not None else None

    def conflicts(self, writes: Sequence[Write]) -> dict[int, Conflict]:
        """The first conflict of each write (by position) that would take a unique value from
        another record, counting values claimed by earlier writes in ``writes`` too."""
        with self._lock:
            return self._conflicts(writes)

    def _conflicts(self, writes: Sequence[Write]) -> dict[int, Conflict]:
        claims: dict[tuple[str, str], str] = {}
        found: dict[int, Conflict] = {}
        for index, write in enumerate(writes):
            key = (write.id_property, write.id)
            target = claims.get(key) or self._index.get(key) or f"new:{index}"
            wanted = [
                (name, value)
                for name, value in write.properties.items()
                if name in self._unique and name != write.id_property
            ]
            for name, value in wanted:
                owner = claims.get((name, value)) or self._index.get((name, value))
                if owner is not None and owner != target:
                    holder = None if owner.startswith("new:") else owner
                    found[index] = Conflict(name, value, holder)
                    break
            else:
                for claim in [key, *wanted]:
                    claims[claim] = target
        return found

    def upsert(self, writes: Sequence[Write], now: datetime) -> list[tuple[StoredRecord, bool]]:
        """Apply every write at once, or none: each result says whether it created the record.

        A unique value stays with one record: a batch in which a write would take one from
        another record raises ``UniqueValueTaken`` before anything is written (callers ask
        ``conflicts`` first and answer as HubSpot does).
        """
        results = []
        with self._lock:
            conflicts = self._conflicts(writes)
            if conflicts:
                raise UniqueValueTaken(next(iter(conflicts.values())))
            for write in writes:
                results.append(self._apply(write, now))
        return results

    def _apply(self, write: Write, now: datetime) -> tuple[StoredRecord, bool]:
        object_id = self._index.get((write.id_property, write.id))
        stamp = timestamp(now)
        if object_id is None:
            object_id = str(self._next_id)
            self._next_id += 1
            properties = {"hs_object_id": object_id, "hs_createdate": stamp}
            created_at, created = now, True
        else:
            previous = self._records[object_id]
            properties = dict(previous.properties)
            created_at, created = previous.created_at, False
        properties.update(write.properties)
        properties[write.id_property] = write.id
        properties["hs_lastmodifieddate"] = stamp
        for name in self._unique:
            old = self._records[object_id].properties.get(name) if not created else None
            new = properties.get(name)
            if old is not None and old != new:
                del self._index[(name, old)]
            if new is not None:
                self._index[(name, new)] = object_id
        record = StoredRecord(object_id, MappingProxyType(properties), created_at, now)
        self._records[object_id] = record
        return record, created

    def records(self) -> list[StoredRecord]:
        """Every record, oldest first."""
        with self._lock:
            return sorted(self._records.values(), key=lambda r: int(r.id))

    def reset(self) -> None:
        with self._lock:
            self._records.clear()
            self._index.clear()
            self._next_id = self._first_id
