"""Serving the fake over real HTTP with uvicorn: in a background thread (tests, demos) or in
the foreground (``postal-mail fake-server``)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import uvicorn

from hubspot_postal_mail._config import is_loopback
from hubspot_postal_mail.fake._app import FakeHubSpot

# What tests send when the fake accepts any token: shaped like a private app token.
ANY_TOKEN = "pat-na1-00000000-0000-4000-8000-000000000000"  # noqa: S105 - fake, public
_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class RunningFake:
    """A fake HubSpot listening on ``base_url``; ``app`` reads and resets its records."""

    app: FakeHubSpot
    host: str
    port: int

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def token(self) -> str:
        """A token this fake accepts with every scope (the first configured one, if any)."""
        tokens = self.app.config.tokens
        if tokens is None:
            return ANY_TOKEN
        return next((t for t, scopes in tokens.items() if scopes is None), next(iter(tokens)))


def _bind(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        # Listen now: connections made before uvicorn starts accepting wait in the backlog.
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def _uvicorn_config(app: FakeHubSpot, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        log_level=log_level,
        access_log=log_level in ("info", "debug", "trace"),
        lifespan="off",
        timeout_graceful_shutdown=2,
    )


@contextlib.contextmanager
def serve_in_thread(
    app: FakeHubSpot, *, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning"
) -> Iterator[RunningFake]:
    """Run ``app`` on ``host``:``port`` (0: a free port) until the block ends, then stop it."""
    if not is_loopback(host):
        raise ValueError(f"the in-process fake binds loopback addresses only, not {host!r}")
    sock = _bind(host, port)
    server = uvicorn.Server(_uvicorn_config(app, log_level))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="hubspot-fake", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake HubSpot server did not start")
            time.sleep(0.005)
        bound_host, bound_port = sock.getsockname()[:2]
        yield RunningFake(app=app, host=bound_host, port=bound_port)
    finally:
        server.should_exit = True
        thread.join(_STOP_TIMEOUT)
        sock.close()
        if thread.is_alive():
            raise RuntimeError("the fake HubSpot server did not stop")


def serve_forever(
    app: FakeHubSpot,
    *,
    host: str,
    port: int,
    log_level: str = "info",
    announce: Callable[[RunningFake], None] | None = None,
) -> None:
    """Run in the foreground until interrupted (Ctrl+C or SIGTERM); ``announce`` once bound."""
    sock = _bind(host, port)
    try:
        if announce is not None:
            bound_host, bound_port = sock.getsockname()[:2]
            announce(RunningFake(app=app, host=bound_host, port=bound_port))
        uvicorn.Server(_uvicorn_config(app, log_level)).run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # uvicorn has shut down cleanly and re-raised Ctrl+C: a normal way to stop
    finally:
        sock.close()
