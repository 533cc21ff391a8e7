"""``postal-mail fake-server``: options reach the fake, bad ones are usage errors (exit 2),
and the real command serves until it is interrupted."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from hubspot_postal_mail._cli import main as postal_mail
from hubspot_postal_mail.fake import FakeConfig
from tests.fake.conftest import PATH, inputs

# The console script that installing the package puts beside the interpreter.
POSTAL_MAIL = str(Path(sys.executable).with_name("postal-mail"))


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Run the command without serving: capture what it would serve instead."""
    seen: dict[str, Any] = {}

    def fake_serve(app: Any, **kwargs: Any) -> None:
        seen.update(kwargs, config=app.config)

    monkeypatch.setattr("hubspot_postal_mail.fake._server.serve_forever", fake_serve)
    return seen


def test_options_become_the_fake_configuration(captured: dict[str, Any]) -> None:
    result = CliRunner().invoke(
        postal_mail,
        [
            "fake-server",
            "--port=0",
            "--token=pat-a",
            "--token=pat-b:crm.objects.contacts.read,crm.objects.contacts.write",
            "--unique-property=letter_ref",
            "--property=colour",
            "--rate-limit=5/0.5",
            "--daily-limit=0",
            "--fault-rate=0.1",
            "--drop-rate=0.05",
            "--drop-after-write",
            "--latency=250",
            "--latency-spread=0.5",
            "--latency-max=2000",
            "--html-fault-rate=0.02",
            "--conflicts=per-input",
            "--conflict-share=0.02",
            "--auth-mode=oauth",
            "--error-bodies=hubspot",
            "--retry-after=2",
            "--seed=9",
            "--partial-status=200",
        ],
    )
    assert result.exit_code == 0, result.output
    assert captured["config"] == FakeConfig(
        tokens={
            "pat-a": None,
            "pat-b": frozenset({"crm.objects.contacts.read", "crm.objects.contacts.write"}),
        },
        unique_properties=("letter_ref",),
        extra_properties=("colour",),
        rate_limit=(5, 0.5),
        daily_limit=None,
        fault_rate=0.1,
        drop_rate=0.05,
        drop_after_write=True,
        latency_seconds=0.25,
        latency_sigma=0.5,
        latency_max_s=2.0,
        html_fault_rate=0.02,
        conflict_mode="per-input",
        conflict_share=0.02,
        auth_mode="oauth",
        error_bodies="hubspot",
        retry_after=2,
        seed=9,
        partial_status=200,
    )
    assert (captured["host"], captured["port"]) == ("127.0.0.1", 0)


def test_defaults_are_hubspots_free_tier(captured: dict[str, Any]) -> None:
    assert CliRunner().invoke(postal_mail, ["fake-server"]).exit_code == 0
    assert captured["config"] == FakeConfig()
    assert captured["port"] == 8080


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--host=0.0.0.0"], "not a loopback address"),
        (["--host=192.0.2.1"], "not a loopback address"),
        (["--rate-limit=100"], "N/SECONDS"),
        (["--rate-limit=0/10"], "positive"),
        (["--fault-rate=2"], "fault-rate"),
        (["--html-fault-rate=1.5"], "html-fault-rate"),
        (["--latency-spread=-1"], "latency-spread"),
        (["--conflicts=sometimes"], "conflicts"),
        (["--auth-mode=basic"], "auth-mode"),
        (["--token=:scope"], "must not be empty"),
        (["--unique-property=hs_object_id"], "cannot be unique"),
    ],
)
def test_bad_options_are_usage_errors(
    captured: dict[str, Any], args: list[str], complaint: str
) -> None:
    result = CliRunner().invoke(postal_mail, ["fake-server", *args])
    assert result.exit_code == 2
    assert complaint in result.output
    assert captured == {}


def test_allow_remote_permits_another_host(captured: dict[str, Any]) -> None:
    result = CliRunner().invoke(postal_mail, ["fake-server", "--host=0.0.0.0", "--allow-remote"])
    assert result.exit_code == 0
    assert captured["host"] == "0.0.0.0"  # noqa: S104 - what the option is for


def test_the_command_serves_until_interrupted() -> None:
    process = subprocess.Popen(  # noqa: S603 - our own entry point
        [POSTAL_MAIL, "fake-server", "--port=0", "--token=pat-secret-1", "--log-level=warning"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        banner = process.stderr.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", banner)
        assert match, banner
        url = match.group(0) + PATH
        headers = {"Authorization": "Bearer pat-secret-1"}
        response = httpx.post(url, json=inputs("a"), headers=headers, timeout=10)
        assert response.status_code == 200
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=15)[1]
        assert process.returncode == 0
        assert "pat-secret-1" not in banner + output
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
