"""The sync state: for each id, what HubSpot last confirmed from this tool.

One SQLite file (standard library only) holds, per id, a fingerprint of the properties HubSpot
last confirmed (a 200/207 result for that input), HubSpot's object id and when. A rerun
fingerprints each record, looks its id up, and need not send a record whose fingerprint equals
the confirmed one. The invariant every method keeps: **a row (id, fingerprint) exists only if
HubSpot holds those values for that id, as far as this tool knows.** So:

- :meth:`State.forget` runs *before* a record is sent (HubSpot may hold the new values from the
  moment the request leaves, whatever happens next), and it is fsync'd when it removed a row,
  so not even a power cut can leave an old fingerprint claiming what HubSpot holds;
- :meth:`State.confirm` runs after HubSpot answered 200/207 for the record. It is not fsync'd
  (WAL, ``synchronous=NORMAL``): a commit is in the operating system's page cache once
  ``COMMIT`` returns, so a SIGKILL loses nothing; a power cut may lose the last confirms, which
  only means those records are sent again.

WAL recovery replays whole transactions only, so a batch is in the file entirely or not at all.

Two runs must not share a state: :class:`State` takes an exclusive ``flock`` on a sidecar file
``FILE.lock`` (not on the database itself: SQLite's own POSIX locks on a file are dropped when
*any* descriptor of that file is closed in the process), fails at once when another run holds
it, and names that run's pid. The kernel drops the lock when the process dies.

How a run uses it (docs/state.md gives the rule for repeated ids):

1. Fingerprint each valid record's properties (exactly what would be sent). For records whose
   id has no line pending or in flight, :meth:`State.lookup` their ids, ``LOOKUP_CHUNK`` at a
   time, and decide in the same step (no ``await`` between): a fingerprint equal to the
   looked-up one is ``unchanged`` and not sent. A line whose id has an earlier line pending or
   in flight is sent (what HubSpot will hold by then is not the state's to know); see
   :mod:`._incremental`, which keeps this rule.
2. Before a batch is sent: :meth:`State.forget` its ids (keep what it returns until the answer).
3. After the answer, before the ids are released: :meth:`State.confirm` the inputs HubSpot
   confirmed; :meth:`State.restore` the forgotten entries of inputs HubSpot refused outright
   (an error for that input, a whole-batch 4xx); nothing for an unknown outcome (timeout, 5xx
   given up, connection lost).
4. ``--full``: skip step 1's comparison; steps 2 and 3 refresh the state.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple

from ._exceptions import StateError, StateLocked
from ._fingerprint import FINGERPRINT, FINGERPRINT_BYTES

FORMAT = "hubspot-postal-mail-state/1"
APPLICATION_ID = 0x48504D53  # "HPMS" in the SQLite header: our files are recognisable
LOOKUP_CHUNK = 500  # ids per query: see benchmarks/state_cost.py


class Confirmed(NamedTuple):
    """What HubSpot last confirmed for an id, and when (Unix seconds)."""

    fingerprint: bytes
    object_id: str | None
    confirmed_at: int


class Summary(NamedTuple):
    ids: int
    file_bytes: int  # the database and its write-ahead log


_COLUMNS = "fingerprint, object_id, confirmed_at"  # in the order of Confirmed
_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE confirmed (
    id TEXT PRIMARY KEY,
    fingerprint BLOB NOT NULL,
    object_id TEXT,
    confirmed_at INTEGER NOT NULL
) WITHOUT ROWID;
"""


class State:
    """Open (or create) the sync state at ``path`` for one base URL and id property.

    Holds the file's lock until :meth:`close` (or the end of a ``with`` block).
    ``readonly=True`` (for a dry run) takes no lock, never writes, and treats a missing file as
    an empty state.
    """

    def __init__(
        self, path: str | Path, *, base_url: str, id_property: str, readonly: bool = False
    ) -> None:
        self.path = Path(path)
        self.base_url = base_url.rstrip("/")
        self.id_property = id_property
        self.readonly = readonly
        self._mutex = threading.Lock()
        self._lock_fd: int | None = None
        self._db: sqlite3.Connection | None = None
        folder = self.path.parent
        if not folder.is_dir():
            raise StateError(f"cannot open the state {self.path}: folder {folder} does not exist")
        if self.path.is_dir():
            raise StateError(f"cannot use {self.path} as the state: it is a folder")
        try:
            if not readonly:
                self._lock()
            self._db = self._open()
            self._json_each = _has_json_each(self._db)
        except BaseException:
            self.close()
            raise

    # -- opening ---------------------------------------------------------------------------

    def _lock(self) -> None:
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StateError(f"cannot create the lock file {lock_path}: {exc.strerror}") from None
        try:
            import fcntl  # POSIX only; imported here so the package still imports elsewhere
        except ImportError:
            os.close(fd)
            raise StateError("a sync state needs a POSIX system (Linux, macOS)") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise StateLocked(
                f"another run is using {self.path} (pid {holder}); wait for it to finish, "
                "or give this run another --state file"
            ) from None
        except OSError as exc:  # e.g. a file system without locks
            os.close(fd)
            raise StateError(f"cannot lock {lock_path}: {exc.strerror}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        self._lock_fd = fd

    def _open(self) -> sqlite3.Connection:
        if self.readonly and (not self.path.exists() or self.path.stat().st_size == 0):
            db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            db.executescript(_SCHEMA)  # an empty state: every id unknown
            return db
        uri = self.path.resolve().as_uri() + ("?mode=ro" if self.readonly else "")
        try:
            db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StateError(f"cannot open the state {self.path}: {exc}") from None
        try:
            self._check_or_create(db)
        except sqlite3.DatabaseError as exc:
            db.close()
            raise StateError(
                f"{self.path} is not a sync state (SQLite says: {exc}); give --state a new "
                "file name, or the file of an earlier run of this tool"
            ) from None
        except BaseException:
            db.close()
            raise
        return db

    def _check_or_create(self, db: sqlite3.Connection) -> None:
        """Validate before writing anything: a foreign database is never altered."""
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        (app_id,) = db.execute("PRAGMA application_id").fetchone()
        if not tables and app_id == 0:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA application_id={APPLICATION_ID}")
            db.executemany(
                "INSERT INTO meta VALUES (?, ?)",
                [
                    ("format", FORMAT),
                    ("base_url", self.base_url),
                    ("id_property", self.id_property),
                    ("fingerprint", FINGERPRINT),
                    ("created_at", str(int(time.time()))),
                ],
            )
            db.execute("COMMIT")
        elif app_id != APPLICATION_ID or not {"meta", "confirmed"} <= tables:
            raise StateError(
                f"{self.path} is an SQLite database but not a sync state of this tool; "
                "give --state a new file name"
            )
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("format") != FORMAT or meta.get("fingerprint") != FINGERPRINT:
            raise StateError(
                f"{self.path} was written in another format ({meta.get('format')!r}); "
                f"this version reads {FORMAT!r}: use a new state file (a --full run fills it)"
            )
        if (meta.get("base_url"), meta.get("id_property")) != (self.base_url, self.id_property):
            raise StateError(
                f"{self.path} holds the state for base URL {meta.get('base_url')!r} and id "
                f"property {meta.get('id_property')!r}, but this run uses base URL "
                f"{self.base_url!r} and id property {self.id_property!r}; give --state "
                "another file for this target"
            )
        if not self.readonly:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")

    # -- use ---------------------------------------------------------------------------------

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise StateError(f"the state {self.path} is closed")
        return self._db

    def changed(self, ids: Sequence[str], fingerprints: Sequence[bytes]) -> set[int]:
        """The positions ``i`` where ``fingerprints[i]`` is not what HubSpot last confirmed for
        ``ids[i]`` (another fingerprint, or none): the records to send.

        Runs for every record of a rerun, whose records are mostly unchanged, so SQLite does the
        comparing and returns only the positions that differ: building a Python row per id
        cost more than SQLite's search for it (see benchmarks/state_cost.py). The ids go in as
        one JSON array and the fingerprints as one blob of 16-byte slices, ``LOOKUP_CHUNK`` at
        a time.
        """
        if len(ids) != len(fingerprints):
            raise ValueError("one fingerprint per id")
        if not self._json_each:  # an SQLite built without JSON: compare here instead
            known = self.lookup(ids)
            pairs = enumerate(zip(ids, fingerprints, strict=True))
            return {i for i, (key, fp) in pairs if known.get(key) != fp}
        differ: set[int] = set()
        with self._session(write=False) as db:
            for start in range(0, len(ids), LOOKUP_CHUNK):
                chunk = fingerprints[start : start + LOOKUP_CHUNK]
                if any(len(fp) != FINGERPRINT_BYTES for fp in chunk):
                    raise ValueError(f"a fingerprint is {FINGERPRINT_BYTES} bytes")
                keys = _json_array(ids[start : start + LOOKUP_CHUNK])
                rows = db.execute(_CHANGED_SQL, (keys, b"".join(chunk)))
                differ.update(start + position for (position,) in rows)
        return differ

    def lookup(self, ids: Sequence[str]) -> dict[str, bytes]:
        """The confirmed fingerprint of each of ``ids`` that has one; the others are absent."""
        return self._select("fingerprint", ids)

    def object_ids(self, ids: Sequence[str]) -> dict[str, str]:
        """HubSpot's object id for each of ``ids`` that has one (for the report of unchanged)."""
        return self._select("object_id", ids)

    def _select(self, column: str, ids: Sequence[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        with self._session(write=False) as db:
            for start in range(0, len(ids), LOOKUP_CHUNK):
                chunk = ids[start : start + LOOKUP_CHUNK]
                found.update(db.execute(_select_sql(column, len(chunk)), chunk))
        return found

    def forget(self, ids: Iterable[str]) -> dict[str, Confirmed]:
        """Remove ``ids`` before new values are sent for them; durable (fsync) if any was there.

        Returns the removed entries: if HubSpot then refuses the input outright (so it wrote
        nothing), :meth:`restore` puts them back; if the outcome is unknown, leave them out.
        """
        keys = list(ids)
        removed: dict[str, Confirmed] = {}
        if not keys:
            return removed
        with self._session(write=True) as db:
            # FULL makes this commit fsync the log; a transaction that deletes nothing writes
            # nothing, so ids that had no entry (a first run) cost no fsync.
            db.execute("PRAGMA synchronous=FULL")
            try:
                db.execute("BEGIN IMMEDIATE")
                for start in range(0, len(keys), LOOKUP_CHUNK):
                    chunk = keys[start : start + LOOKUP_CHUNK]
                    marks = ",".join("?" * len(chunk))
                    where = f"FROM confirmed WHERE id IN ({marks})"
                    found = db.execute(f"SELECT id, {_COLUMNS} {where}", chunk).fetchall()
                    for key, fp, object_id, at in found:
                        removed[key] = Confirmed(fp, object_id, at)
                    if found:  # in a first run there is nothing to delete
                        db.execute(f"DELETE {where}", chunk)
                db.execute("COMMIT")
            finally:
                _rollback(db)  # after a failure; then back to NORMAL for the confirms
                db.execute("PRAGMA synchronous=NORMAL")
        return removed

    def restore(self, entries: Mapping[str, Confirmed]) -> None:
        """Put back entries :meth:`forget` removed, as they were, in one transaction."""
        self._write([(key, *entry) for key, entry in entries.items()])

    def confirm(
        self, rows: Iterable[tuple[str, bytes, str | None]], *, at: float | None = None
    ) -> None:
        """Record ``(id, fingerprint, object_id)`` rows HubSpot confirmed, in one transaction."""
        stamp = int(time.time() if at is None else at)
        self._write([(key, fp, object_id, stamp) for key, fp, object_id in rows])

    def _write(self, params: list[tuple[str, bytes, str | None, int]]) -> None:
        if not params:
            return
        with self._session(write=True) as db:
            db.execute("BEGIN IMMEDIATE")
            db.executemany("INSERT OR REPLACE INTO confirmed VALUES (?, ?, ?, ?)", params)
            db.execute("COMMIT")

    def summary(self) -> Summary:
        with self._session(write=False) as db:
            (count,) = db.execute("SELECT count(*) FROM confirmed").fetchone()
        size = sum(
            p.stat().st_size
            for p in (self.path, self.path.with_name(self.path.name + "-wal"))
            if p.exists()
        )
        return Summary(count, size)

    def entries(self) -> Iterator[tuple[str, Confirmed]]:
        """Every ``(id, Confirmed)``, by id: for inspection and tests."""
        with self._session(write=False) as db:
            rows = db.execute(
                f"SELECT id, {_COLUMNS} FROM confirmed ORDER BY id"  # noqa: S608 - constant
            ).fetchall()
        for key, fp, object_id, at in rows:
            yield key, Confirmed(fp, object_id, at)

    @contextlib.contextmanager
    def _session(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        """The connection, one thread at a time; SQLite's errors (a full disk, a damaged
        file) become a StateError naming the file, and an unfinished transaction is undone."""
        with self._mutex:
            if write and self.readonly:
                raise StateError(f"the state {self.path} was opened read-only (dry run)")
            db = self._conn
            try:
                yield db
            except sqlite3.Error as exc:
                _rollback(db)
                doing = "write" if write else "read"
                raise StateError(f"cannot {doing} the state {self.path}: {exc}") from exc
            except BaseException:
                _rollback(db)
                raise

    def close(self) -> None:
        """Close the database (its log is folded back in) and release the lock."""
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    def __enter__(self) -> State:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# Positions (json_each's key) whose confirmed fingerprint is not the given one; a blob's substr
# counts bytes, so each slice is found at once (a text's would be walked from its start).
_CHANGED_SQL = f"""
SELECT j.key FROM json_each(?1) AS j LEFT JOIN confirmed AS c ON c.id = j.value
WHERE c.fingerprint IS NOT substr(?2, j.key * {FINGERPRINT_BYTES} + 1, {FINGERPRINT_BYTES})
"""  # noqa: S608 - a constant
_json_array = json.JSONEncoder().encode  # ASCII: a lone surrogate cannot fail the binding

_SELECT_CACHE: dict[tuple[str, int], str] = {}


def _select_sql(column: str, n: int) -> str:
    sql = _SELECT_CACHE.get((column, n))
    if sql is None:
        marks = ",".join("?" * n)
        sql = f"SELECT id, {column} FROM confirmed WHERE id IN ({marks}) AND {column} NOT NULL"  # noqa: S608 - our column, placeholders
        _SELECT_CACHE[column, n] = sql
    return sql


def _has_json_each(db: sqlite3.Connection) -> bool:
    """SQLite has JSON built in since 3.38, but a build may leave it out."""
    try:
        db.execute("SELECT count(*) FROM json_each('[]')").fetchone()
    except sqlite3.OperationalError:
        return False
    return True


def _rollback(db: sqlite3.Connection) -> None:
    if db.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
