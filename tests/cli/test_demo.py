"""``postal-mail demo``: two runs against an in-process fake, the second one updating."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from hubspot_postal_mail._command import CommandError
from hubspot_postal_mail._demo import EXAMPLE, find_example

from .conftest import by_line, invoke, read_report, write_jsonl

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_creates_then_updates_and_says_where_the_reports_are(tmp_path: Path) -> None:
    rows = [{"external_id": f"D-{i}", "hs_postal_mail_body": f"letter {i}"} for i in range(150)]
    source = write_jsonl(tmp_path / "sample.jsonl", [*rows, "{bad", rows[3]])
    out_dir = tmp_path / "out"

    run = invoke(["demo", "--input", str(source), "--output-dir", str(out_dir)], token=None)

    assert run.exit_code == 0, run.all_output
    assert "A fake HubSpot is listening on http://127.0.0.1:" in run.stdout
    # Line 152 repeats D-3: it is sent after line 4 and updates what line 4 wrote.
    assert "created 150, updated 1, unchanged 0, failed 1, skipped 0" in run.stdout
    assert "created 0, updated 151, unchanged 0, failed 1, skipped 0" in run.stdout
    # Run 3 has run 2's state: every record is what HubSpot holds, so none is sent.
    assert "created 0, updated 0, unchanged 151, failed 1, skipped 0\n  0 requests" in run.stdout
    assert "The fake now holds 150 records" in run.stdout
    assert "  D-1  object " in run.stdout
    assert f"{source}:151: record without an id: failed: INVALID_INPUT" in run.stderr
    for number, outcome in ((1, "created"), (2, "updated")):
        entries = by_line(read_report(out_dir / f"run{number}.report.jsonl"))
        assert entries[1]["outcome"] == outcome
        assert entries[4]["outcome"] == outcome
        assert entries[152]["outcome"] == "updated"
        assert set(entries) == set(range(1, 153))
        assert str(out_dir / f"run{number}.report.jsonl") in run.stdout
    assert not [t for t in threading.enumerate() if t.name == "hubspot-fake"]  # stopped


def test_the_example_is_found_from_the_project_or_beside_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # not inside the project: found from the package's location
    assert find_example() == ROOT / EXAMPLE
    (tmp_path / "examples").mkdir()
    (tmp_path / EXAMPLE).write_text("{}\n")
    assert find_example() == tmp_path / EXAMPLE  # the current folder's own examples first


def test_without_the_example_the_demo_asks_for_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("hubspot_postal_mail._demo.__file__", str(tmp_path / "x" / "demo.py"))
    with pytest.raises(CommandError, match="pass --input FILE"):
        find_example()
    run = invoke(["demo"], token=None)
    assert run.exit_code == 2
    assert "pass --input FILE" in run.stderr


@pytest.mark.parametrize(
    ("name", "content", "complaint"),
    [
        ("notes.txt", "hello\n", "notes.txt: expected a .csv, .tsv, .jsonl or .parquet file"),
        ("mail.csv", "id,body\n1,x\n", "external_id"),
    ],
)
def test_the_demo_checks_its_input_before_starting_the_fake(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, content: str, complaint: str
) -> None:
    (tmp_path / name).write_bytes(content.encode("utf-8", "surrogateescape"))
    started: list[object] = []
    monkeypatch.setattr("hubspot_postal_mail._demo.serve_in_thread", started.append)
    run = invoke(["demo", "--input", str(tmp_path / name)], token=None)
    assert run.exit_code == 2, run.all_output
    assert complaint in run.stderr
    assert started == []
    assert "listening" not in run.stdout
