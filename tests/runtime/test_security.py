"""The token: only from the caller or the environment, never in logs, reprs, errors, reports."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
import respx

from hubspot_postal_mail import ConfigError, RetryPolicy, upsert_all
from hubspot_postal_mail._config import (
    RedactingFilter,
    Secret,
    is_loopback,
    proxy_for,
    resolve_base_url,
    resolve_token,
)

from ._hub import MiniHub
from .conftest import BASE_URL, TOKEN, UPSERT_URL


def test_the_token_comes_from_the_caller_or_the_environment_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ConfigError, match="HUBSPOT_ACCESS_TOKEN"):
        resolve_token(None)
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", TOKEN)
    assert resolve_token(None).reveal() == TOKEN
    assert resolve_token("pat-other").reveal() == "pat-other"


def test_a_secret_never_shows_itself() -> None:
    secret = Secret(TOKEN)
    for text in (repr(secret), str(secret), f"{secret}", "%s" % secret, f"{secret!r}"):  # noqa: UP031
        assert TOKEN not in text


def test_plain_http_only_to_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_base_url(None) == "https://api.hubapi.com"
    monkeypatch.setenv("HUBSPOT_BASE_URL", "http://127.0.0.1:8080/")
    assert resolve_base_url(None) == "http://127.0.0.1:8080"
    for ok in ("http://localhost:1", "http://[::1]:2", "http://127.9.9.9", "https://eu1.example"):
        assert resolve_base_url(ok) == ok
    for bad in ("http://api.hubapi.com", "http://10.0.0.1", "ftp://x", "https://u:p@host"):
        with pytest.raises(ConfigError):
            resolve_base_url(bad)


def test_upsert_all_refuses_plain_http_to_a_remote_host() -> None:
    with pytest.raises(ConfigError, match="clear text"):
        upsert_all([{"k": "1"}], id_property="k", token=TOKEN, base_url="http://example.com")


def test_the_filter_redacts_messages_arguments_and_tracebacks() -> None:
    log_filter = RedactingFilter([Secret(TOKEN)])
    try:
        raise RuntimeError(f"boom {TOKEN}")
    except RuntimeError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, "f", 1, "a %s b", (TOKEN,), sys.exc_info())
    log_filter.filter(record)
    assert TOKEN not in record.getMessage()
    assert record.exc_text is not None
    assert TOKEN not in record.exc_text


def test_nothing_a_run_leaves_behind_shows_the_token(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    hub = MiniHub()
    inner = hub.handler()
    calls = 0

    def hostile(request: httpx.Request) -> httpx.Response:
        """Every way a token could come back: echoed in errors, in a 401, via exceptions."""
        nonlocal calls
        calls += 1
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        if calls == 1:
            raise httpx.ConnectError(f"proxy said: bad header Bearer {TOKEN}")
        if calls == 2:
            return httpx.Response(502, text=f"<html>upstream got {TOKEN}</html>")
        if calls == 3:
            body = {"status": "error", "category": "VALIDATION_ERROR", "message": f"echo {TOKEN}"}
            return httpx.Response(400, json=body)
        if calls == 4:
            body = {"status": "error", "category": "INVALID_AUTHENTICATION", "message": TOKEN}
            return httpx.Response(401, json=body)
        return inner(request)

    report_path = tmp_path / "report.jsonl"
    with respx.mock() as mock:
        mock.post(UPSERT_URL).mock(side_effect=hostile)
        report = upsert_all(
            [{"external_id": "A"}, {"external_id": "B", "bad": [TOKEN]}, {"external_id": "C"}],
            id_property="external_id",
            token=TOKEN,
            base_url=BASE_URL,
            report=report_path,
            state=tmp_path / "c.state",
            retry_policy=RetryPolicy(max_attempts=3, initial_wait=0, max_wait=0),
            rate_limit="1000/1",
            concurrency=1,
            batch_size=1,
        )
        logging.getLogger("hubspot_postal_mail").error("late %s", TOKEN)  # after the run
    print(report, report.summary(), report.failures)
    out = capsys.readouterr()
    surfaces = {
        "logs": caplog.text,
        "stdout": out.out,
        "stderr": out.err,
        "report file": report_path.read_text(),
        "state": (tmp_path / "c.state").read_bytes().decode("latin-1"),
        "report repr": repr(report) + str(report.failures) + str(report.stopped),
    }
    assert report.stopped is not None  # the 401 stopped the run, and its message was kept
    assert "<redacted>" in report.stopped
    assert "<redacted>" in surfaces["report file"]
    assert "retry 1 of a request after ConnectError" in caplog.text  # logged, redacted
    for where, text in surfaces.items():
        if where == "logs":
            # after the run, the filter is gone: only the "late" line may carry it
            text = text.replace(f"late {TOKEN}", "")
        assert TOKEN not in text, f"token leaked in {where}"


@pytest.mark.parametrize("token", ["pat-caf\u00e9-1234", "pat-\x1b[2J-1234", "pat-\x00-1234"])
def test_a_token_that_is_not_printable_ascii_is_refused_without_showing_it(token: str) -> None:
    with pytest.raises(ConfigError) as raised:
        resolve_token(token)
    shown = f"{raised.value} {raised.value!r} {raised.value.args}"
    assert "1234" not in shown
    assert "not printable ASCII" in shown
    with pytest.raises(ConfigError) as raised:
        upsert_all([{"k": "1"}], id_property="k", token=token, base_url=BASE_URL)
    assert "1234" not in f"{raised.value!r}"


def test_only_localhost_itself_and_loopback_literals_count_as_loopback() -> None:
    for host in ("localhost", "LOCALHOST", "localhost.", "127.0.0.1", "127.1.2.3", "[::1]"):
        assert is_loopback(host), host
    for host in ("foo.localhost", "localhost.example.com", "10.0.0.1", "::2", "127.0.0.1.nip.io"):
        assert not is_loopback(host), host


@pytest.mark.parametrize("port", ["99999", "0", "65536", "-1", "http"])
def test_a_base_url_with_an_invalid_port_is_refused(port: str) -> None:
    with pytest.raises(ConfigError, match="port must be between 1 and 65535"):
        resolve_base_url(f"http://127.0.0.1:{port}")


@pytest.mark.parametrize(
    ("env", "base_url", "proxy"),
    [
        ({"HTTPS_PROXY": "http://p:3128"}, "https://api.hubapi.com", "http://p:3128"),
        ({"https_proxy": "http://p:3128"}, "https://api.hubapi.com", "http://p:3128"),
        ({"ALL_PROXY": "http://p:1"}, "https://api.hubapi.com", "http://p:1"),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "hubapi.com"}, "https://api.hubapi.com", None),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": ".hubapi.com"}, "https://api.hubapi.com", None),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "*"}, "https://api.hubapi.com", None),
        (
            {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "pihubapi.com"},
            "https://api.hubapi.com",
            "http://p:1",
        ),
        ({"HTTP_PROXY": "http://p:1"}, "https://api.hubapi.com", None),
        ({"HTTP_PROXY": "http://p:1", "ALL_PROXY": "http://p:2"}, "http://127.0.0.1:8080", None),
        ({}, "https://api.hubapi.com", None),
    ],
)
def test_the_proxy_comes_from_the_environment_and_never_for_plain_http(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], base_url: str, proxy: str | None
) -> None:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert proxy_for(base_url) == proxy
