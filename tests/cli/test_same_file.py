"""Issue 15 item 2: the input, the report and the state must be three different files, or the
run writes over its own input; refused before anything is opened for writing."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from hubspot_postal_mail._command import CommandError, refuse_same_files
from hubspot_postal_mail.fake._server import RunningFake

from .conftest import invoke, upsert_args, write_jsonl

ROWS = [{"external_id": f"A-{n}", "hs_postal_mail_body": "hello"} for n in range(5)]

# Each case: from the input's path, the extra options that name it (or a file that is it).
Aliases = Callable[[Path], list[str]]


def _symlink(source: Path) -> Path:
    link = source.with_name("link.jsonl")
    link.symlink_to(source)
    return link


def _hard_link(source: Path) -> Path:
    link = source.with_name("hard.jsonl")
    os.link(source, link)
    return link


def _dotted(source: Path) -> Path:
    return source.parent / "." / ".." / source.parent.name / source.name


CASES: dict[str, tuple[Aliases, str]] = {
    "report is the input": (lambda src: ["--report", str(src)], "--report"),
    "state is the input": (lambda src: ["--state", str(src)], "--state"),
    "checkpoint (the old name of --state) is the input": (
        lambda src: ["--checkpoint", str(src)],
        "--state",
    ),
    "report by another spelling": (lambda src: ["--report", str(_dotted(src))], "--report"),
    "report through a symlink": (lambda src: ["--report", str(_symlink(src))], "--report"),
    "report through a hard link": (lambda src: ["--report", str(_hard_link(src))], "--report"),
    "report is the state's journal": (
        lambda src: [
            "--state",
            str(src.with_name("c")),
            "--report",
            str(src.with_name("c-wal")),
        ],
        "journal",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_a_report_or_state_that_is_the_input_is_refused_and_the_input_kept(
    hubspot_fake: RunningFake, tmp_path: Path, case: str
) -> None:
    make_options, option = CASES[case]
    source = write_jsonl(tmp_path / "mail.jsonl", ROWS)
    before = source.read_bytes()
    run = invoke(upsert_args(source, hubspot_fake, *make_options(source)))
    assert run.exit_code == 2, run.all_output
    assert run.stderr.startswith("Error: ")
    assert run.stderr.strip().count("\n") == 0
    assert "is the same file as" in run.stderr
    assert option in run.stderr
    assert source.read_bytes() == before
    assert {p.name for p in tmp_path.iterdir()} <= {"hard.jsonl", "link.jsonl", "mail.jsonl"}
    assert hubspot_fake.app.calls() == []


def test_the_report_and_the_state_must_differ(hubspot_fake: RunningFake, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "mail.jsonl", ROWS)
    out = tmp_path / "out.jsonl"
    run = invoke(upsert_args(source, hubspot_fake, "--report", str(out), "--state", str(out)))
    assert run.exit_code == 2, run.all_output
    assert "--state" in run.stderr
    assert "--report" in run.stderr
    assert not out.exists()
    assert hubspot_fake.app.calls() == []


def test_distinct_files_still_run(hubspot_fake: RunningFake, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "mail.jsonl", ROWS)
    extra = ["--report", str(tmp_path / "r.jsonl"), "--state", str(tmp_path / "c.state")]
    run = invoke(upsert_args(source, hubspot_fake, *extra))
    assert run.exit_code == 0, run.all_output


def test_a_new_file_option_is_one_more_pair(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "mail.jsonl", ROWS)
    files: list[tuple[str, Path | None]] = [
        ("INPUT", source),
        ("--report", tmp_path / "r.jsonl"),
        ("--state", None),
    ]
    refuse_same_files(files)  # all different: nothing said
    with pytest.raises(CommandError, match=r"^--other .*link\.jsonl is the same file as INPUT "):
        refuse_same_files([*files, ("--other", _symlink(source))])
