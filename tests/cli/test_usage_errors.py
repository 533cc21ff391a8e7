"""Exit status 2: bad usage or unreadable input, said in one line, and nothing sent."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from hubspot_postal_mail.fake._server import RunningFake

from .conftest import TOKEN, invoke, upsert_args, write_jsonl

Setup = Callable[[Path], list[str]]


def _good(tmp: Path) -> Path:
    return write_jsonl(tmp / "ok.jsonl", [{"external_id": "A-1"}])


def _file(name: str, content: bytes) -> Setup:
    def make(tmp: Path) -> list[str]:
        (tmp / name).write_bytes(content)
        return [str(tmp / name)]

    return make


CASES: dict[str, tuple[Setup, str]] = {
    "missing file": (lambda tmp: [str(tmp / "absent.csv")], "absent.csv: No such file"),
    "a folder": (lambda tmp: [str(tmp)], "expected a .csv, .tsv, .jsonl or .parquet file"),
    "wrong extension": (
        _file("mail.xlsx", b"PK\x03\x04"),
        "mail.xlsx: expected a .csv, .tsv, .jsonl or .parquet",
    ),
    "CSV header with a repeated column": (
        _file("mail.csv", b"external_id,body,body\nA,b,c\n"),
        "mail.csv: column 'body' appears twice in the CSV header (columns 2 and 3)",
    ),
    "CSV header with an empty column": (
        _file("mail.csv", b"external_id,,body\nA,b,c\n"),
        "mail.csv: column 2 of the CSV header has no name",
    ),
    "CSV header without the id column": (
        _file("mail.csv", b"ref,body\nA,b\n"),
        "no column gives the id property 'external_id'",
    ),
    "CSV header not UTF-8": (
        _file("mail.csv", b"external_id,caf\xe9\nA,b\n"),
        "mail.csv: the CSV header: line 1 is not valid utf-8: byte 0xe9",
    ),
    "bad rate limit": (lambda tmp: [str(_good(tmp)), "--rate-limit", "fast"], "N/SECONDS"),
    "zero concurrency": (lambda tmp: [str(_good(tmp)), "--concurrency", "0"], "--concurrency"),
    "report in a missing folder": (
        lambda tmp: [str(_good(tmp)), "--report", str(tmp / "no" / "r.jsonl")],
        "does not exist",
    ),
    "state in a missing folder": (
        lambda tmp: [str(_good(tmp)), "--state", str(tmp / "no" / "c.state")],
        "folder",
    ),
    "base URL with an invalid port": (
        lambda tmp: [str(_good(tmp)), "--base-url", "http://127.0.0.1:99999"],
        "the port must be between 1 and 65535",
    ),
    "plain http to a *.localhost name": (
        lambda tmp: [str(_good(tmp)), "--base-url", "http://foo.localhost:8080"],
        "refusing plain http:// to foo.localhost",
    ),
    "empty id property": (lambda tmp: [str(_good(tmp)), "--id-property", ""], "id_property is"),
    "blank id property": (lambda tmp: [str(_good(tmp)), "--id-property", "  "], "id_property is"),
    "state that is not a state": (
        lambda tmp: [str(_good(tmp)), "--state", str(_text(tmp, '["x"]\n'))],
        "is not a sync state",
    ),
    "state not UTF-8 nor SQLite": (
        lambda tmp: [str(_good(tmp)), "--state", str(_file("c.ckpt", b"\xff\xfe\n")(tmp)[0])],
        "is not a sync state",
    ),
}

HEADER = '{"format": "hubspot-postal-mail-checkpoint/1", "id_property": "external_id"}\n'


def _text(tmp: Path, content: str) -> Path:
    (tmp / "c.ckpt").write_text(content, encoding="utf-8")
    return tmp / "c.ckpt"


@pytest.mark.parametrize("case", CASES)
def test_unusable_input_or_options_exit_2_and_send_nothing(
    hubspot_fake: RunningFake, tmp_path: Path, case: str
) -> None:
    setup, complaint = CASES[case]
    source, *extra = setup(tmp_path)
    run = invoke(upsert_args(source, hubspot_fake, *extra))
    assert run.exit_code == 2, run.all_output
    errors = [line for line in run.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, run.stderr
    assert complaint in errors[0]
    assert ".tmp" not in run.stderr
    assert "Traceback" not in run.all_output
    assert run.stdout == ""
    assert hubspot_fake.app.calls() == []


def test_input_errors_are_one_line(hubspot_fake: RunningFake, tmp_path: Path) -> None:
    run = invoke(upsert_args(tmp_path / "absent.jsonl", hubspot_fake))
    assert run.stderr.strip().count("\n") == 0
    assert run.stderr.startswith("Error: ")


def test_missing_id_property_is_a_usage_error(tmp_path: Path) -> None:
    run = invoke(["upsert", str(_good(tmp_path))])
    assert run.exit_code == 2
    assert "--id-property" in run.stderr


def test_no_token_is_a_usage_error(hubspot_fake: RunningFake, tmp_path: Path) -> None:
    run = invoke(upsert_args(_good(tmp_path), hubspot_fake), token=None)
    assert run.exit_code == 2
    assert "HUBSPOT_ACCESS_TOKEN is not set" in run.stderr
    assert hubspot_fake.app.calls() == []


def test_plain_http_to_a_remote_host_is_refused(tmp_path: Path) -> None:
    source = _good(tmp_path)
    run = invoke(["upsert", str(source), "--id-property=x", "--base-url=http://api.example.com"])
    assert run.exit_code == 2
    assert "refusing plain http://" in run.stderr
    assert TOKEN not in run.all_output


def test_a_state_from_another_run_is_refused(hubspot_fake: RunningFake, tmp_path: Path) -> None:
    state = tmp_path / "c.state"
    source = _good(tmp_path)
    first = invoke(upsert_args(source, hubspot_fake, "--state", str(state)))
    assert first.exit_code == 0
    calls = len(hubspot_fake.app.calls())
    args = ["upsert", str(source), "--id-property=other", "--base-url", hubspot_fake.base_url]
    for option in ("--state", "--checkpoint"):  # --checkpoint: the old name, still taken
        run = invoke([*args, option, str(state)])
        assert run.exit_code == 2
        assert "--state" in run.stderr
        assert "id property 'other'" in run.stderr
        assert "Traceback" not in run.stderr
    assert len(hubspot_fake.app.calls()) == calls


def test_a_non_ascii_token_is_refused_without_showing_it(
    hubspot_fake: RunningFake, tmp_path: Path
) -> None:
    token = "pat-na1-caf\u00e9-5ec2-4e7a"
    run = invoke(upsert_args(_good(tmp_path), hubspot_fake), token=token)
    assert run.exit_code == 2, run.all_output
    assert "not printable ASCII" in run.stderr
    assert "caf" not in run.all_output
    assert "Traceback" not in run.all_output
    assert hubspot_fake.app.calls() == []


def test_a_missing_scope_stop_says_which_scope_to_grant(
    hubspot_fake_factory: Callable[..., RunningFake], tmp_path: Path
) -> None:
    fake = hubspot_fake_factory(tokens={TOKEN: frozenset({"crm.objects.contacts.read"})})
    run = invoke([*upsert_args(_good(tmp_path), fake), "--json"])
    assert run.exit_code == 3, run.all_output
    assert "MISSING_SCOPES" in run.stderr
    assert "give the private app the crm.objects.contacts.write scope" in run.stderr
    assert "crm.objects.contacts.write scope" in json.loads(run.stdout)["stopped"]


def test_the_fake_server_on_a_port_in_use_says_so_in_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = invoke(["fake-server", "--port", str(port)], token=None)
    assert run.exit_code == 2, run.all_output
    assert run.stderr.strip() == (
        f"Error: cannot listen on 127.0.0.1:{port}: Address already in use "
        "(another server is there: choose another --port, or 0 for a free one)"
    )
