"""Running ``postal-mail`` in-process (click's CliRunner) against a real fake HubSpot on
127.0.0.1, and reading what it leaves behind: the report, the fake's records."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hubspot_postal_mail._cli import main as postal_mail
from hubspot_postal_mail.fake._server import RunningFake

# Distinctive, so a leak into any output is easy to find.
TOKEN = "pat-na1-c0ffee00-5ec2-4e7a-9d1b-70ce2b0a5e1e"
POSTAL_MAIL = str(Path(sys.executable).with_name("postal-mail"))
Factory = Callable[..., RunningFake]


@pytest.fixture(autouse=True)
def _no_ambient_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test says which token and base URL it uses; the developer's shell does not."""
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)
    monkeypatch.delenv("HUBSPOT_BASE_URL", raising=False)


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def all_output(self) -> str:
        return self.stdout + self.stderr


def invoke(args: Sequence[str], *, token: str | None = TOKEN, stdin: str | None = None) -> Run:
    """``postal-mail ARGS`` in this process, with ``token`` as HUBSPOT_ACCESS_TOKEN."""
    env = {"HUBSPOT_ACCESS_TOKEN": token, "HUBSPOT_BASE_URL": None}
    result = CliRunner().invoke(postal_mail, list(args), env=env, input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


def upsert_args(source: Path | str, fake: RunningFake, *extra: str) -> list[str]:
    return [
        "upsert",
        str(source),
        "--id-property",
        "external_id",
        "--base-url",
        fake.base_url,
        *extra,
    ]


def write_jsonl(path: Path, rows: Iterable[Mapping[str, Any] | str]) -> Path:
    """One line per row: a dict as JSON, a string as it is (for malformed lines)."""
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write((row if isinstance(row, str) else json.dumps(row)) + "\n")
    return path


def read_report(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def by_line(entries: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """The report keyed by input line; fails if a line appears twice."""
    lines = [int(e["line"]) for e in entries]
    assert len(lines) == len(set(lines)), "each input line appears once in the report"
    return {int(e["line"]): e for e in entries}


def body(fake: RunningFake, key: str) -> str | None:
    record = fake.app.find("external_id", key)
    return None if record is None else record.properties.get("hs_postal_mail_body")
