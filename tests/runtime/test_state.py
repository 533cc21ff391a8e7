"""The sync state: fingerprints, binding, refusals, the lock, forgetting, and SIGKILL."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st

from hubspot_postal_mail import RetryPolicy, StateError, StateLocked, upsert_all
from hubspot_postal_mail._fingerprint import fingerprint
from hubspot_postal_mail._state import LOOKUP_CHUNK, Confirmed, State

URL = "https://api.hubapi.com"
KEY = "external_id"

texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]) | st.just("\x00"))
props = st.dictionaries(texts, texts, max_size=6)


@pytest.fixture
def state(tmp_path: Path) -> Iterator[State]:
    with State(tmp_path / "s.sqlite", base_url=URL, id_property=KEY) as opened:
        yield opened


# -- fingerprints -------------------------------------------------------------------------------


@given(props, st.randoms())
def test_a_fingerprint_does_not_depend_on_the_order_of_properties(
    properties: dict[str, str], rnd: random.Random
) -> None:
    items = list(properties.items())
    rnd.shuffle(items)
    assert fingerprint(dict(items)) == fingerprint(properties)
    assert len(fingerprint(properties)) == 16


@given(props, props)
def test_different_properties_have_different_fingerprints(
    a: dict[str, str], b: dict[str, str]
) -> None:
    assert (fingerprint(a) == fingerprint(b)) == (a == b)


def test_a_fingerprint_changes_with_any_value_key_or_separator_inside_a_value() -> None:
    base = {"hs_timestamp": "2026-01-01T00:00:00Z", "hs_postal_mail_body": "Invoice"}
    assert fingerprint(base) != fingerprint({**base, "hs_postal_mail_body": "Invoice "})
    assert fingerprint(base) != fingerprint({**base, "hubspot_owner_id": ""})
    assert fingerprint({"a": "b\x00c\x00d"}) != fingerprint({"a": "b", "c": "d"})
    assert fingerprint({"a\x00b": "c"}) != fingerprint({"a": "b\x00c"})
    assert fingerprint({}) != fingerprint({"": ""})


def test_a_fingerprint_is_the_same_in_every_process() -> None:
    # A state written by one run is read by the next: no per-process hash seed may leak in.
    code = (
        "from hubspot_postal_mail._fingerprint import fingerprint\n"
        "print(fingerprint({'a': 'é', 'b': 'x'}).hex())"
    )
    outputs = {
        subprocess.run(  # noqa: S603 - our own interpreter
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert outputs == {fingerprint({"b": "x", "a": "é"}).hex()}


def test_fingerprints_keep_their_digests_across_versions() -> None:
    """A state written by an earlier version is compared with this one's fingerprints: any
    change of digest is a new state format (``FINGERPRINT``), never a silent one."""
    golden = {
        "": {},
        "a": {"a": "b"},
        "body": {"hs_postal_mail_body": "Invoice", "hs_timestamp": "2026-01-01T00:00:00Z"},
        "percent": {"%s": "%d", "b%": "%"},
        "nul": {"a": "b\x00c"},
        "accent": {"b": "x", "a": "é"},
    }
    digests = {name: fingerprint(properties).hex() for name, properties in golden.items()}
    assert digests == {
        "": "5459800fe441a49f8f724a01cbb9302c",
        "a": "0e2fc59e2f38609418b5eadc9a08c8f4",
        "body": "c9fac9ef28ff500c9a8b371743bc9cc3",
        "percent": "2149bb889a90e8edad38fc5abb377544",
        "nul": "5b3e17ec299eb8fff640ac438f59c1f7",
        "accent": "20be2cd61bec36dfcfd72c70a13edcb3",
    }


def test_a_fingerprint_is_right_however_many_orders_of_names_a_run_meets() -> None:
    """Sorting is planned once per order of names, and the plans are bounded: past the bound
    they are made again, never mixed up."""
    names = [f"p{i}" for i in range(12)]
    rnd = random.Random(5)  # noqa: S311 - test data
    for _ in range(1_500):
        chosen = rnd.sample(names, rnd.randint(1, len(names)))
        properties = {name: f"{name}={rnd.random()}" for name in chosen}
        joined = "\x00".join(f"{k}\x00{v}" for k, v in sorted(properties.items()))
        expected = hashlib.blake2b(
            joined.encode(), digest_size=16, person=b"hpm-state-nul1"
        ).digest()
        assert fingerprint(properties) == expected


# -- confirm, lookup, forget --------------------------------------------------------------------


def test_confirmed_rows_are_found_again_after_reopening(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    ids = [f"E{i}" for i in range(LOOKUP_CHUNK * 2 + 17)]  # more than one lookup chunk
    with State(path, base_url=URL, id_property=KEY) as state:
        state.confirm(((key, fingerprint({"v": key}), f"9{n}") for n, key in enumerate(ids)), at=5)
    with State(path, base_url=URL, id_property=KEY) as state:
        found = state.lookup([*ids, "never-sent"])
        assert len(found) == len(ids)
        assert "never-sent" not in found
        assert found["E3"] == fingerprint({"v": "E3"})
        assert state.object_ids(["E3", "never-sent"]) == {"E3": "93"}
        assert next(state.entries())[1].confirmed_at == 5
        assert state.summary().ids == len(ids)
        assert state.summary().file_bytes > 0


@pytest.mark.parametrize("sqlite_json", [True, False], ids=["json_each", "without-json"])
def test_changed_names_the_positions_whose_fingerprint_is_not_the_confirmed_one(
    state: State, sqlite_json: bool
) -> None:
    """Over several chunks, with repeated ids, unknown ids and ids needing JSON escapes; the
    same answer when SQLite lacks JSON and the comparing is done in Python."""
    state._json_each = sqlite_json
    odd = 'E"\\é\u2028'
    confirmed = {f"E{i}": fingerprint({"v": str(i)}) for i in range(LOOKUP_CHUNK + 50)}
    confirmed[odd] = fingerprint({"v": "odd"})
    state.confirm((key, fp, None) for key, fp in confirmed.items())
    ids = [*confirmed, "E3", "never-sent", odd, "E5"]
    prints = [*confirmed.values(), fingerprint({"v": "3"}), fingerprint({}), b"x" * 16, b"y" * 16]
    prints[7] = fingerprint({"v": "changed"})
    prints[LOOKUP_CHUNK + 1] = fingerprint({"v": "changed"})
    n = len(confirmed)
    assert state.changed(ids, prints) == {7, LOOKUP_CHUNK + 1, n + 1, n + 2, n + 3}
    assert state.changed([], []) == set()
    with pytest.raises(ValueError, match="one fingerprint per id"):
        state.changed(["E1"], [])


def test_a_later_confirm_replaces_the_earlier_one(state: State) -> None:
    state.confirm([("E1", fingerprint({"v": "1"}), "7")])
    state.confirm([("E1", fingerprint({"v": "2"}), "7")])
    assert state.lookup(["E1"]) == {"E1": fingerprint({"v": "2"})}
    assert state.summary().ids == 1


def test_a_line_in_flight_or_failed_leaves_no_fingerprint_claiming_its_id(state: State) -> None:
    """Last line wins: E1=old confirmed; E1=new is forgotten before sending, then fails."""
    old, new = fingerprint({"v": "old"}), fingerprint({"v": "new"})
    state.confirm([("E1", old, "7"), ("E2", old, "8")], at=100)
    removed = state.forget(["E1", "E9"])  # before the request with E1=new leaves
    assert removed == {"E1": Confirmed(old, "7", 100)}
    # ... the run dies with the request in flight, or its outcome is unknown: nothing more.
    # Neither `old` nor `new` is claimed for E1: the next run sends it, whatever its values.
    assert state.lookup(["E1", "E2"]) == {"E2": old}
    state.confirm([("E1", new, "7")])  # ... or HubSpot confirms E1=new
    assert state.lookup(["E1"]) == {"E1": new}


def test_an_entry_forgotten_for_an_input_hubspot_refused_can_be_restored(state: State) -> None:
    old = fingerprint({"v": "old"})
    state.confirm([("E1", old, "7")], at=100)
    removed = state.forget(["E1"])
    assert state.lookup(["E1"]) == {}
    state.restore(removed)  # HubSpot answered the input with an error: it still holds `old`
    assert list(state.entries()) == [("E1", Confirmed(old, "7", 100))]
    assert state.forget(["E1"] * 3 + [f"E{i}" for i in range(2, LOOKUP_CHUNK * 2)]) == removed


def test_a_forget_that_removes_a_row_is_committed_with_an_fsync(state: State) -> None:
    state.confirm([("E1", fingerprint({}), None)])
    statements: list[str] = []
    state._conn.set_trace_callback(statements.append)
    state.forget(["E1"])
    state.confirm([("E2", fingerprint({}), None)])
    state._conn.set_trace_callback(None)
    full = statements.index("PRAGMA synchronous=FULL")
    delete = next(i for i, s in enumerate(statements) if s.startswith("DELETE"))
    commits = [i for i, s in enumerate(statements) if s == "COMMIT"]
    normal = statements.index("PRAGMA synchronous=NORMAL")
    assert full < delete < commits[0] < normal < commits[1]  # the confirm's commit is NORMAL
    assert state._conn.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL


def test_a_full_disk_is_a_state_error_and_leaves_no_part_of_the_batch(state: State) -> None:
    state.confirm([("E0", fingerprint({}), None)])
    (pages,) = state._conn.execute("PRAGMA page_count").fetchone()
    state._conn.execute(f"PRAGMA max_page_count={pages + 2}")  # as if the disk were full
    rows = [(f"E{i}", fingerprint({"v": str(i)}), None) for i in range(1, 5000)]
    with pytest.raises(StateError, match=r"cannot write the state .*s\.sqlite: .*full"):
        state.confirm(rows)
    assert state.summary().ids == 1
    state.confirm(rows[:3])  # the state stays usable
    assert state.summary().ids == 4


def test_the_database_is_in_wal_mode(state: State) -> None:
    assert state._conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


# -- binding and refusals -----------------------------------------------------------------------


def test_a_state_for_another_base_url_or_id_property_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    State(path, base_url=URL + "/", id_property=KEY).close()
    State(path, base_url=URL, id_property=KEY).close()  # a trailing slash is the same URL
    with pytest.raises(StateError) as caught:
        State(path, base_url="http://127.0.0.1:8080", id_property=KEY)
    message = str(caught.value)
    assert URL in message
    assert "http://127.0.0.1:8080" in message
    with pytest.raises(StateError, match=r"id property 'external_id'.*id property 'other_key'"):
        State(path, base_url=URL, id_property="other_key")
    State(path, base_url=URL, id_property=KEY).close()  # a refusal releases the lock


@pytest.mark.parametrize(
    "content",
    [b'{"format": "hubspot-postal-mail-checkpoint/1"}\n', b"x" * 5000, bytes(range(256)) * 8],
)
def test_a_file_that_is_not_a_database_is_refused_with_a_clear_message(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "old.ckpt"
    path.write_bytes(content)
    with pytest.raises(StateError, match=r"old\.ckpt is not a sync state"):
        State(path, base_url=URL, id_property=KEY)
    assert path.read_bytes() == content


def test_another_sqlite_database_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE customers (id TEXT)")
    other.close()
    before = path.read_bytes()
    with pytest.raises(StateError, match="SQLite database but not a sync state"):
        State(path, base_url=URL, id_property=KEY)
    assert path.read_bytes() == before
    assert not Path(f"{path}-wal").exists()


def test_a_state_of_another_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    State(path, base_url=URL, id_property=KEY).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = 'hubspot-postal-mail-state/0' WHERE key = 'format'")
    db.close()
    with pytest.raises(StateError, match="another format"):
        State(path, base_url=URL, id_property=KEY)


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such"
    with pytest.raises(StateError, match=re.escape(f"folder {missing} does not exist")):
        State(missing / "s.sqlite", base_url=URL, id_property=KEY)
    with pytest.raises(StateError, match="it is a folder"):
        State(tmp_path, base_url=URL, id_property=KEY)


def test_a_closed_state_says_so(tmp_path: Path) -> None:
    state = State(tmp_path / "s.sqlite", base_url=URL, id_property=KEY)
    state.close()
    state.close()
    with pytest.raises(StateError, match="closed"):
        state.lookup(["E1"])


# -- read-only (dry run) ------------------------------------------------------------------------


def test_a_read_only_state_never_writes_and_takes_no_lock(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with State(path, base_url=URL, id_property=KEY, readonly=True) as empty:
        assert empty.lookup(["E1"]) == {}
    assert not path.exists()
    path.touch()
    with State(path, base_url=URL, id_property=KEY, readonly=True) as empty:
        assert empty.lookup(["E1"]) == {}
    assert path.stat().st_size == 0
    with State(path, base_url=URL, id_property=KEY) as writer:
        writer.confirm([("E1", fingerprint({"v": "1"}), "7")])
        with State(path, base_url=URL, id_property=KEY, readonly=True) as reader:
            assert reader.object_ids(["E1"]) == {"E1": "7"}
            with pytest.raises(StateError, match="read-only"):
                reader.confirm([("E2", fingerprint({}), None)])
            with pytest.raises(StateError, match="read-only"):
                reader.forget(["E1"])
    with pytest.raises(StateError, match="id property"):
        State(path, base_url=URL, id_property="other", readonly=True)


# -- the lock -----------------------------------------------------------------------------------


def test_a_second_opener_in_the_same_process_fails_at_once(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    message = re.escape(f"another run is using {path} (pid {os.getpid()})")
    with State(path, base_url=URL, id_property=KEY), pytest.raises(StateLocked, match=message):
        State(path, base_url=URL, id_property=KEY)
    State(path, base_url=URL, id_property=KEY).close()  # released on close


OPEN_AND_REPORT = """
import sys
from hubspot_postal_mail._state import State, StateLocked
try:
    State(sys.argv[1], base_url=sys.argv[2], id_property="external_id").close()
except StateLocked as exc:
    print(exc)
    sys.exit(2)
print("opened")
"""

OPEN_AND_WAIT = """
import sys, time
from hubspot_postal_mail._state import State
state = State(sys.argv[1], base_url=sys.argv[2], id_property="external_id")
print("holding", flush=True)
time.sleep(600)
"""


def run_child(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60
    )


def test_a_second_process_fails_at_once_and_the_lock_dies_with_its_holder(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with State(path, base_url=URL, id_property=KEY):
        refused = run_child(OPEN_AND_REPORT, str(path), URL)
    assert refused.returncode == 2, refused.stderr
    assert f"another run is using {path} (pid {os.getpid()})" in refused.stdout

    holder = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", OPEN_AND_WAIT, str(path), URL], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(StateLocked, match=f"pid {holder.pid}"):
            State(path, base_url=URL, id_property=KEY)
        holder.send_signal(signal.SIGKILL)
    finally:
        holder.kill()
        holder.wait(10)
    assert run_child(OPEN_AND_REPORT, str(path), URL).stdout.strip() == "opened"


# -- SIGKILL ------------------------------------------------------------------------------------

CONFIRM_FOREVER = """
import sys
from hubspot_postal_mail._fingerprint import fingerprint
from hubspot_postal_mail._state import State
state = State(sys.argv[1], base_url=sys.argv[2], id_property="external_id")
n = int(sys.argv[3])
shared = [f"shared-{i}" for i in range(2000)]
while True:
    value = fingerprint({"batch": str(n)})
    state.forget(shared[:100])  # as before a send: durable, then a confirm rewrites them
    state.confirm(
        [(key, value, str(n)) for key in shared]
        + [(f"batch{n}-{i}", value, str(n)) for i in range(2000)]
    )
    print(n, flush=True)
    n += 1
"""

KILLS = 10


def test_a_state_killed_mid_confirm_keeps_every_confirmed_batch_and_no_half_batch(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.sqlite"
    next_batch, reported = 0, -1
    for kill in range(KILLS):
        child = subprocess.Popen(  # noqa: S603 - our own interpreter and script
            [sys.executable, "-c", CONFIRM_FOREVER, str(path), URL, str(next_batch)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout is not None
            stamps = []
            for _ in range(4):  # a few confirmed batches, to learn how long one takes
                reported = int(child.stdout.readline())
                stamps.append(time.monotonic())
            # Then a kill at a different moment of a batch each time: spread over its length.
            period = (stamps[-1] - stamps[0]) / (len(stamps) - 1)
            time.sleep(period * (kill + 0.5) / KILLS)
            child.send_signal(signal.SIGKILL)
            lines = child.stdout.read().split()  # what it printed before it died
            reported = int(lines[-1]) if lines else reported
        finally:
            child.kill()
            child.wait(10)
        assert child.returncode == -signal.SIGKILL

        with State(path, base_url=URL, id_property=KEY) as state:
            entries = {key: c._replace(confirmed_at=0) for key, c in state.entries()}
        last_whole = max(int(c.object_id or "-1") for c in entries.values())
        expected = Confirmed(fingerprint({"batch": str(last_whole)}), str(last_whole), 0)
        # The shared rows hold one batch's values: never a mix. The first 100 are all there or
        # all forgotten (killed between the forget and the confirm that follows it).
        rest = [entries.get(f"shared-{i}") for i in range(100, 2000)]
        assert rest == [expected] * 1900
        first = [entries.get(f"shared-{i}") for i in range(100)]
        assert first in ([expected] * 100, [None] * 100)
        # Every batch the child saw confirmed is there, whole; at most one more (confirmed but
        # killed before it could print); none half-written.
        assert reported <= last_whole <= reported + 1
        for n in range(last_whole + 1):
            assert sum(key.startswith(f"batch{n}-") for key in entries) == 2000
        assert not any(key.startswith(f"batch{last_whole + 1}-") for key in entries)
        next_batch = last_whole + 1
    assert next_batch >= KILLS * 4


# -- the engine's rule for repeated ids, against a model of HubSpot ---------------------------
#
# upsert_all with a state, one line a request, against a HubSpot that merges properties and
# gives each line the fate it names: written, refused, written but the answer lost, or lost
# before it was written. Whatever the lines and fates, every run ends where sending every line
# one by one would, and no row of the state claims values HubSpot does not hold.

OK, REFUSED, WRITTEN_ANSWER_LOST, LOST = "ok", "refused", "written?", "lost?"

Line = tuple[str, dict[str, str], str]  # id, properties, what HubSpot does with it

lines_strategy = st.lists(
    st.tuples(
        st.sampled_from(["E1", "E2", "E3"]),
        st.dictionaries(st.sampled_from(["body", "owner"]), st.sampled_from(["0", "1"])),
        st.sampled_from([OK, OK, OK, REFUSED, WRITTEN_ANSWER_LOST, LOST]),
    ),
    max_size=10,
)
ENGINE_URL = "https://api.example.test"


def one_by_one(hub: dict[str, dict[str, str]], lines: list[Line]) -> None:
    """What HubSpot ends with when every line is sent (an upsert merges properties)."""
    for key, properties, fate in lines:
        if fate in (OK, WRITTEN_ANSWER_LOST):
            hub.setdefault(key, {}).update({KEY: key, **properties, "fate": fate})


def modelled_hubspot(hub: dict[str, dict[str, str]]) -> Callable[[httpx.Request], httpx.Response]:
    def respond(request: httpx.Request) -> httpx.Response:
        (line,) = json.loads(request.content)["inputs"]
        key, properties = line["id"], line["properties"]
        fate = properties["fate"]
        trace = line["objectWriteTraceId"]
        if fate == LOST:
            raise httpx.ReadTimeout("lost before it was written", request=request)
        if fate == REFUSED:
            error = {"status": "error", "category": "VALIDATION_ERROR", "message": "no"}
            body = {
                **ANSWER,
                "results": [],
                "errors": [error | {"context": {"objectWriteTraceId": [trace]}}],
            }
            return httpx.Response(207, json=body)
        hub.setdefault(key, {}).update(properties)
        if fate == WRITTEN_ANSWER_LOST:
            raise httpx.ReadTimeout("written, but the answer was lost", request=request)
        result = {"id": "1", "new": False, "properties": {KEY: key}, "objectWriteTraceId": trace}
        return httpx.Response(200, json={**ANSWER, "results": [result]})

    return respond


ANSWER = {
    "status": "COMPLETE",
    "startedAt": "2026-01-01T00:00:00Z",
    "completedAt": "2026-01-01T00:00:01Z",
}


@settings(max_examples=40, deadline=None)
@given(lines_strategy, lines_strategy)
def test_runs_with_a_state_end_where_every_line_would_and_the_state_never_overclaims(
    first: list[Line], second: list[Line]
) -> None:
    hub: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as folder, respx.mock(assert_all_called=False) as mock:
        mock.post(url__startswith=ENGINE_URL).mock(side_effect=modelled_hubspot(hub))
        path = Path(folder) / "s.sqlite"
        for lines in (first, first, second, second):
            expected = {key: dict(props) for key, props in hub.items()}
            one_by_one(expected, lines)
            upsert_all(
                [{KEY: key, **props, "fate": fate} for key, props, fate in lines],
                id_property=KEY,
                token="pat-test",
                base_url=ENGINE_URL,
                state=path,
                batch_size=1,
                concurrency=1,
                retry_policy=RetryPolicy(max_attempts=1),
            )
            assert hub == expected
            sent = {
                fingerprint({KEY: key, **props, "fate": fate}): {KEY: key, **props, "fate": fate}
                for key, props, fate in first + second
            }
            with State(path, base_url=ENGINE_URL, id_property=KEY, readonly=True) as state:
                for key, entry in state.entries():
                    assert hub[key].items() >= sent[entry.fingerprint].items()


def test_an_unchanged_rerun_sends_nothing_for_ids_whose_lines_are_alike(tmp_path: Path) -> None:
    hub: dict[str, dict[str, str]] = {}
    lines = [("E1", {"body": "a"}, OK), ("E1", {"body": "a"}, OK), ("E2", {"body": "b"}, OK)]
    with respx.mock() as mock:
        route = mock.post(url__startswith=ENGINE_URL).mock(side_effect=modelled_hubspot(hub))
        for _ in range(2):
            report = upsert_all(
                [{KEY: key, **props, "fate": fate} for key, props, fate in lines],
                id_property=KEY,
                token="pat-test",
                base_url=ENGINE_URL,
                state=tmp_path / "s.sqlite",
                batch_size=1,
            )
    assert route.call_count == 3  # the first run's three lines; the rerun sends nothing
    assert report.unchanged == 3
