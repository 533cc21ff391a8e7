"""``HTTPS_PROXY`` and ``NO_PROXY`` reach the run: httpx reads them only for a transport it makes
itself, and a run brings its own (retries, pacing)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import TOKEN, invoke, write_jsonl


@pytest.fixture
def refusing_proxy() -> Iterator[tuple[str, list[bytes]]]:
    """A proxy on 127.0.0.1 that records each request's head and refuses it with a 403."""
    seen: list[bytes] = []
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                seen.append(conn.recv(4096))
                conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}", seen
    finally:
        done.set()
        thread.join(5)
        server.close()


def test_https_proxy_from_the_environment_carries_the_requests(
    refusing_proxy: tuple[str, list[bytes]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy, seen = refusing_proxy
    monkeypatch.setenv("HTTPS_PROXY", proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    source = write_jsonl(tmp_path / "mail.jsonl", [{"external_id": "A"}])
    run = invoke(["upsert", str(source), "--id-property", "external_id"])
    assert run.exit_code == 3, run.all_output
    assert "ProxyError: 403 Forbidden" in run.stderr
    assert seen
    assert seen[0].startswith(b"CONNECT api.hubapi.com:443 ")
    assert TOKEN.encode() not in b"".join(seen)  # a tunnel: the proxy never sees the token


def test_an_unusable_proxy_is_a_usage_error_that_hides_its_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "ftp://user:hunter2@proxy.example.com:21")
    source = write_jsonl(tmp_path / "mail.jsonl", [{"external_id": "A"}])
    run = invoke(["upsert", str(source), "--id-property", "external_id"])
    assert run.exit_code == 2, run.all_output
    assert "cannot use a ftp:// proxy" in run.stderr
    assert "hunter2" not in run.all_output
