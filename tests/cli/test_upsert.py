"""``postal-mail upsert`` end to end against the fake HubSpot: exit statuses 0 and 1, the
report, CSV, JSONL and stdin input, --dry-run, --json, and plain progress lines."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

import pytest

from hubspot_postal_mail import _progress as progress
from hubspot_postal_mail.fake._server import RunningFake

from .conftest import TOKEN, Factory, body, by_line, invoke, read_report, upsert_args, write_jsonl

SUMMARY_KEYS = {
    "total",
    "created",
    "updated",
    "unchanged",
    "failed",
    "skipped",
    "requests",
    "retries",
    "rate_limited",
    "elapsed_s",
    "unfinished",
    "stopped",
    "report",
}


def rows(n: int, *, prefix: str = "PM", tag: str = "v1") -> list[dict[str, str]]:
    return [
        {
            "external_id": f"{prefix}-{i:05d}",
            "hs_postal_mail_body": f"{tag} letter {i}",
            "hs_timestamp": "2026-03-02T10:00:00Z",
            "hubspot_owner_id": "7001",
        }
        for i in range(n)
    ]


def test_every_record_written_exits_0_and_the_report_has_each_line_once(
    hubspot_fake: RunningFake, tmp_path: Path
) -> None:
    source = write_jsonl(tmp_path / "mail.jsonl", rows(250))
    report = tmp_path / "report.jsonl"

    first = invoke(upsert_args(source, hubspot_fake, "--report", str(report)))
    assert first.exit_code == 0, first.all_output
    entries = by_line(read_report(report))
    assert set(entries) == set(range(1, 251))
    for line, entry in entries.items():
        key = f"PM-{line - 1:05d}"
        stored = hubspot_fake.app.find("external_id", key)
        assert stored is not None
        assert entry == {"line": line, "id": key, "outcome": "created", "object_id": stored.id}
    assert "created 250, updated 0, unchanged 0, failed 0" in first.stdout
    assert f"report: {report}" in first.stdout

    again = invoke(upsert_args(source, hubspot_fake, "--report", str(report)))
    assert again.exit_code == 0
    assert {e["outcome"] for e in by_line(read_report(report)).values()} == {"updated"}
    assert len(hubspot_fake.app.records()) == 250


def test_some_failed_exits_1_and_each_failure_names_file_line_and_record(
    hubspot_fake: RunningFake, tmp_path: Path
) -> None:
    data: list[Mapping[str, object] | str] = [*rows(120)]
    data[9] = '{"external_id": "PM-00009", "hs_postal_mail_body": '  # cut short: invalid JSON
    data[19] = "[1, 2, 3]"  # JSON, but not an object
    data[29] = {"hs_postal_mail_body": "no id"}
    data[39] = {"external_id": "PM-00039", "no_such_property": "x"}  # HubSpot refuses it
    data[49] = {"external_id": "PM-00049", "hs_attachment_ids": ["1", "2"]}  # not a scalar
    source = write_jsonl(tmp_path / "mail.jsonl", data)
    report = tmp_path / "report.jsonl"

    run = invoke(upsert_args(source, hubspot_fake, "--report", str(report)))

    assert run.exit_code == 1, run.all_output
    entries = by_line(read_report(report))
    assert set(entries) == set(range(1, 121))
    failed = {line for line, e in entries.items() if e["outcome"] == "failed"}
    assert failed == {10, 20, 30, 40, 50}
    assert entries[40]["error"]["category"] == "VALIDATION_ERROR"
    assert entries[40]["id"] == "PM-00039"
    assert "object_id" not in entries[40]
    assert {entries[n]["error"]["category"] for n in (10, 20, 30, 50)} == {"INVALID_INPUT"}
    assert all("object_id" in e for line, e in entries.items() if line not in failed)
    assert len(hubspot_fake.app.records()) == 115
    assert hubspot_fake.app.find("external_id", "PM-00039") is None

    error_lines = [line for line in run.stderr.splitlines() if ": failed: " in line]
    assert len(error_lines) == 5
    assert f"{source}:40: record PM-00039: failed: VALIDATION_ERROR" in run.stderr
    assert f"{source}:30: record without an id: failed: INVALID_INPUT" in run.stderr
    assert f"{source}:10: " in run.stderr
    assert "Traceback" not in run.all_output
    assert "created 115, updated 0, unchanged 0, failed 5" in run.stdout


def test_csv_input_with_malformed_rows(hubspot_fake: RunningFake, tmp_path: Path) -> None:
    source = tmp_path / "mail.csv"
    source.write_text(
        "external_id,hs_postal_mail_body,hubspot_owner_id\n"
        'C-1,"Invoice, posted",7001\n'
        "C-2,too,many,fields\n"
        "\n"
        'C-3,"a body over\ntwo lines",7002\n'
        "C-4,short\n"
        ",no id,7003\n"
        "C-5,last,7004\n",
        encoding="utf-8",
    )
    report = tmp_path / "report.jsonl"
    run = invoke(upsert_args(source, hubspot_fake, "--report", str(report)))
    assert run.exit_code == 1, run.all_output
    outcomes = {line: e["outcome"] for line, e in by_line(read_report(report)).items()}
    # CSV line numbers are where each row starts in the file (a quoted field may span lines).
    assert outcomes == {
        2: "created",
        3: "failed",
        5: "created",
        7: "failed",
        8: "failed",
        9: "created",
    }
    assert body(hubspot_fake, "C-1") == "Invoice, posted"
    assert body(hubspot_fake, "C-3") == "a body over\ntwo lines"
    assert (
        f"{source}:3: record C-2: failed: INVALID_INPUT: 4 fields where the "
        "header has 3" in run.stderr
    )


def test_stdin_takes_json_lines(hubspot_fake: RunningFake, tmp_path: Path) -> None:
    lines = [json.dumps(r) for r in rows(30)]
    lines[5] = json.dumps({"id": "API-SHAPED", "properties": {"hs_postal_mail_body": "as is"}})
    report = tmp_path / "report.jsonl"
    run = invoke(
        upsert_args("-", hubspot_fake, "--report", str(report), "--json"),
        stdin="\n".join(lines) + "\n",
    )
    assert run.exit_code == 0, run.all_output
    summary = json.loads(run.stdout)
    assert (summary["created"], summary["input"]) == (30, "<stdin>")
    assert body(hubspot_fake, "API-SHAPED") == "as is"
    assert set(by_line(read_report(report))) == set(range(1, 31))


def test_json_prints_exactly_one_object_with_the_summary_keys(
    hubspot_fake: RunningFake, tmp_path: Path
) -> None:
    data: list[Mapping[str, object] | str] = [*rows(150), "{oops"]
    source = write_jsonl(tmp_path / "mail.jsonl", data)
    report = tmp_path / "r.jsonl"
    run = invoke(upsert_args(source, hubspot_fake, "--json", "--report", str(report)))
    assert run.exit_code == 1
    summary = json.loads(run.stdout)  # the whole of stdout is one JSON document
    assert run.stdout.count("\n") == 1
    assert set(summary) >= SUMMARY_KEYS
    assert (summary["total"], summary["created"], summary["failed"]) == (151, 150, 1)
    assert summary["requests"] == len(hubspot_fake.app.calls()) == 2
    assert (summary["retries"], summary["rate_limited"], summary["stopped"]) == (0, 0, None)
    assert summary["report"] == str(report)
    assert summary["elapsed_s"] > 0


def test_dry_run_sends_nothing_and_reports_what_would_be_sent(
    hubspot_fake: RunningFake, tmp_path: Path
) -> None:
    data: list[Mapping[str, object] | str] = [*rows(250), "not json", *rows(250)[200:203]]
    source = write_jsonl(tmp_path / "mail.jsonl", data)
    report = tmp_path / "plan.jsonl"
    run = invoke(
        upsert_args(source, hubspot_fake, "--dry-run", "--json", "--report", str(report)),
        token=None,  # a dry run needs no token
    )
    assert run.exit_code == 1, run.all_output  # one invalid line
    assert hubspot_fake.app.calls() == []
    assert hubspot_fake.app.records() == []
    summary = json.loads(run.stdout)
    assert summary["dry_run"] is True
    assert (summary["would_send"], summary["failed"], summary["requests"]) == (253, 1, 0)
    assert summary["batches"] == 4  # 100, 100, 50, then 3 ids again: not in the same batch
    entries = by_line(read_report(report))
    assert entries[251]["outcome"] == "failed"
    first = entries[1]
    assert {k: first[k] for k in ("line", "id", "outcome", "would_send")} == {
        "line": 1,
        "id": "PM-00000",
        "outcome": "skipped",
        "would_send": True,
    }
    assert first["properties"]["external_id"] == "PM-00000"  # what would be sent

    clean = write_jsonl(tmp_path / "clean.jsonl", rows(10))
    assert invoke(upsert_args(clean, hubspot_fake, "--dry-run"), token=None).exit_code == 0
    assert hubspot_fake.app.calls() == []


def test_plain_progress_lines_when_not_a_terminal(
    hubspot_fake_factory: Factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = hubspot_fake_factory(rate_limit=(100, 10.0))
    source = write_jsonl(tmp_path / "mail.jsonl", rows(500))
    # The default interval is a few seconds; a quick run then shows only its final line.
    quick = invoke(upsert_args(source, fake))
    assert quick.stderr.count("progress: ") == 1
    assert "progress: 500 of about 500 records (100%)" in quick.stderr

    monkeypatch.setattr(progress, "PLAIN_INTERVAL_S", 0.0)
    run = invoke(upsert_args(source, fake, "--concurrency", "1"))
    assert run.exit_code == 0
    lines = [line for line in run.stderr.splitlines() if line.startswith("progress: ")]
    assert len(lines) >= 5  # one per batch at least
    assert "\x1b[" not in run.stderr  # no terminal control codes in a log
    assert lines[0].startswith("progress: 0 of about 500 records (0%)")
    for line in lines:
        assert "records/s" in line
        assert re.search(r"\b\d+ requests?, \d+ retr(y|ies), ", line)
        assert "rate-limited (429)" in line
    assert "ETA" in lines[2]


def test_a_retried_429_shows_in_the_counts(hubspot_fake_factory: Factory, tmp_path: Path) -> None:
    fake = hubspot_fake_factory(rate_limit=(2, 0.5))
    source = write_jsonl(tmp_path / "mail.jsonl", rows(500))
    run = invoke(upsert_args(source, fake, "--rate-limit", "10/0.5", "--json"))
    assert run.exit_code == 0, run.all_output
    summary = json.loads(run.stdout)
    assert summary["rate_limited"] >= 1
    assert summary["retries"] >= summary["rate_limited"]
    assert len(fake.app.records()) == 500


def test_the_token_appears_in_no_output(hubspot_fake_factory: Factory, tmp_path: Path) -> None:
    fake = hubspot_fake_factory(tokens={TOKEN: None})
    data: list[Mapping[str, object] | str] = [*rows(20), {"external_id": TOKEN, "x_unknown": TOKEN}]
    source = write_jsonl(tmp_path / "mail.jsonl", data)
    report, ckpt = tmp_path / "r.jsonl", tmp_path / "c.ckpt"
    runs = [
        invoke(upsert_args(source, fake, "--report", str(report), "--state", str(ckpt))),
        invoke(upsert_args(source, fake, "--json"), token=TOKEN[:-1]),  # refused: 401
        invoke(upsert_args(source, fake), token=f"{TOKEN} x"),  # malformed: usage error
    ]
    assert [r.exit_code for r in runs] == [1, 3, 2]
    for run in runs:
        assert TOKEN not in run.all_output
        assert TOKEN[:-1] not in run.all_output
    assert "<redacted>" in report.read_text()  # HubSpot's message quoted the value: redacted
    assert TOKEN.encode() not in report.read_bytes() + ckpt.read_bytes()
