"""What a person reads: control characters from ids, file names and HubSpot's messages shown as
escapes, counted nouns in the singular when there is one, the base URL when it is not
HubSpot's, and an honest summary of a run cut short (issue 15, "what a person sees")."""

from __future__ import annotations

import io
import json
import signal
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from hubspot_postal_mail._command import Upsert, UpsertOptions, failure_line, summary_text
from hubspot_postal_mail._config import Secret
from hubspot_postal_mail._constants import DEFAULT_BASE_URL
from hubspot_postal_mail._report import Outcome, RecordError, RecordResult
from hubspot_postal_mail._settings import UpsertSettings
from hubspot_postal_mail._text import plural, visible
from hubspot_postal_mail.fake._server import RunningFake

from .conftest import TOKEN, Factory, invoke, upsert_args, write_jsonl
from .test_stop_and_resume import upsert_process

HOSTILE = "X\x1b]0;owned\x07\x1b[2J\r\nY\u202e\x9b"
SHOWN = "X\\x1b]0;owned\\x07\\x1b[2J\\r\\nY\\u202e\\x9b"


def test_control_characters_are_shown_as_escapes() -> None:
    assert visible(HOSTILE) == SHOWN
    assert visible("tab\there, caf\u00e9, \u65e5\u672c") == "tab\\there, caf\u00e9, \u65e5\u672c"


def test_a_failure_line_escapes_the_file_the_id_and_the_message() -> None:
    error = RecordError("VALIDATION_ERROR", f"Property {HOSTILE} does not exist", 400)
    line = failure_line(f"in{HOSTILE}.jsonl", RecordResult(7, HOSTILE, Outcome.FAILED, error=error))
    assert "\x1b" not in line
    assert "\n" not in line
    assert "\u202e" not in line
    assert line.startswith(
        f"in{SHOWN}.jsonl:7: record {SHOWN}: failed: VALIDATION_ERROR (HTTP 400)"
    )


def test_ids_and_file_names_with_control_characters_print_escaped(
    hubspot_fake: RunningFake, tmp_path: Path
) -> None:
    source = write_jsonl(
        tmp_path / "mail\x1b[2J.jsonl",
        [{"external_id": HOSTILE, "not_a_property": "v"}, {"external_id": "OK-1"}],
    )
    run = invoke([*upsert_args(source, hubspot_fake), "--report", str(tmp_path / "r\x07.jsonl")])
    assert run.exit_code == 1, run.all_output
    assert "\x1b" not in run.all_output
    assert "\x07" not in run.all_output
    assert f"record {SHOWN}: failed:" in run.stderr
    assert "mail\\x1b[2J.jsonl" in run.stdout
    assert "r\\x07.jsonl" in run.stdout


def test_a_stop_message_from_the_server_prints_escaped(tmp_path: Path) -> None:
    answer = {"status": "error", "category": "MISSING_SCOPES", "message": f"no {HOSTILE}"}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json=answer)

    source = write_jsonl(tmp_path / "mail.jsonl", [{"external_id": "A"}])
    settings = UpsertSettings(
        id_property="external_id",
        token=Secret(TOKEN),
        base_url=DEFAULT_BASE_URL,
        transport=httpx.MockTransport(handler),
    )
    err = io.StringIO()
    result = Upsert(
        UpsertOptions(input=str(source), settings=settings),
        err=Console(file=err, soft_wrap=True, color_system=None),
    ).execute()
    assert result.exit_status == 3
    shown = err.getvalue()
    assert "\x1b" not in shown
    assert f"no {SHOWN}" in shown
    assert "give the private app the crm.objects.contacts.write scope" in shown


def summary(**counts: Any) -> dict[str, Any]:
    base = dict.fromkeys(
        ("total", "created", "updated", "unchanged", "failed", "skipped", "requests", "retries"),
        0,
    )
    return {
        **base,
        "rate_limited": 0,
        "unfinished": 0,
        "elapsed_s": 1.0,
        "records_per_s": 1.0,
        "input": "in.jsonl",
        "id_property": "external_id",
        "base_url": DEFAULT_BASE_URL,
        "report": None,
        "dry_run": False,
        **counts,
    }


def test_one_of_a_thing_is_said_in_the_singular() -> None:
    assert [plural(n, "retry") for n in (0, 1, 2)] == ["0 retries", "1 retry", "2 retries"]
    text = summary_text(summary(total=1, created=1, requests=1, retries=1)).plain
    assert text.startswith("1 record from in.jsonl")
    assert "  1 request, 1 retry, 0 rate-limited (429)" in text
    text = summary_text(summary(total=2, requests=2, retries=2, unfinished=1)).plain
    assert text.startswith("2 records from")
    assert "2 requests, 2 retries" in text
    assert "1 record read but not finished" in text
    plan = summary_text(summary(dry_run=True, total=1, would_send=1, batches=1)).plain
    assert "1 record checked: 1 would be sent in at least 1 request," in plan


def test_the_summary_names_the_base_url_unless_it_is_hubspots(
    hubspot_fake: RunningFake, tmp_path: Path
) -> None:
    assert DEFAULT_BASE_URL not in summary_text(summary()).plain
    source = write_jsonl(tmp_path / "mail.jsonl", [{"external_id": "A"}])
    run = invoke(upsert_args(source, hubspot_fake))
    assert f"by external_id, to {hubspot_fake.base_url}\n" in run.stdout
    as_json = json.loads(invoke([*upsert_args(source, hubspot_fake), "--json"]).stdout)
    assert as_json["base_url"] == hubspot_fake.base_url


def test_a_run_cut_short_counts_its_unsent_records_and_its_real_time(
    hubspot_fake_factory: Factory, tmp_path: Path
) -> None:
    # Every answer takes a minute: the requests are on the wire when Ctrl+C comes, so the first
    # press waits for them and the second cuts them short. (A wait for a retry or a slot ends
    # at the first press.)
    fake = hubspot_fake_factory(latency_median_s=60.0)
    source = write_jsonl(tmp_path / "mail.jsonl", [{"external_id": f"E{n}"} for n in range(150)])
    with upsert_process([*upsert_args(source, fake), "--json"]) as run:
        time.sleep(3.0)  # start-up, then at least 1.5 s of run
        run.send_signal(signal.SIGINT)
        time.sleep(0.2)
        run.send_signal(signal.SIGINT)
        stdout, stderr = run.communicate(timeout=30)
    assert run.returncode == 3, stderr
    cut = json.loads(stdout)
    assert "abandoned" in cut["stopped"]
    assert cut["total"] == 0
    assert cut["unfinished"] == 150
    assert cut["elapsed_s"] >= 1.5  # at least the time waited above, not the summary's own
