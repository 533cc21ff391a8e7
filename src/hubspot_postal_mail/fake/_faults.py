"""Seeded fault injection: latency, 5xx answers and connections dropped without an answer."""

from __future__ import annotations

import asyncio
import random
import threading
from dataclasses import dataclass
from typing import Any

import httpx

from hubspot_postal_mail.fake._config import FakeConfig

# What HubSpot and the proxies in front of it answer when something breaks.
SERVER_ERROR_STATUSES = (500, 502, 503, 504)


@dataclass(frozen=True, slots=True)
class Fault:
    """What goes wrong with one request: nothing, a dropped connection, or a 5xx status."""

    drop: bool = False
    status: int | None = None


class FaultInjector:
    """Draws one ``Fault`` per request from a generator seeded by the config.

    With the same seed and the same order of requests, the same requests fail.
    """

    def __init__(self, config: FakeConfig) -> None:
        self._drop_rate = config.drop_rate
        self._fault_rate = config.fault_rate
        self._seed = config.seed
        self._lock = threading.Lock()
        self._random = random.Random(self._seed)  # noqa: S311 - reproducible, not secret

    def next(self) -> Fault:
        with self._lock:
            # Draw every number every time, so one rate does not shift the other's sequence.
            drop, fail, pick = self._random.random(), self._random.random(), self._random.random()
        if drop < self._drop_rate:
            return Fault(drop=True)
        if fail < self._fault_rate:
            index = int(pick * len(SERVER_ERROR_STATUSES))
            return Fault(status=SERVER_ERROR_STATUSES[index])
        return Fault()

    def reset(self) -> None:
        with self._lock:
            self._random.seed(self._seed)


class ConnectionDropped(httpx.RemoteProtocolError):
    """Raised in-process (httpx.ASGITransport) where there is no socket to close.

    It is an ``httpx.RemoteProtocolError``, the error an httpx client sees when a server
    closes the connection without answering, so client code handles both the same way.
    """

    def __init__(self) -> None:
        super().__init__("Server disconnected without sending a response (fake HubSpot drop).")


async def drop_connection(receive: Any, send: Any, *, body_read: bool = False) -> None:
    """Close the client's connection without sending a byte of the response.

    Under uvicorn, ``send`` is bound to the request cycle that owns the asyncio transport;
    closing it and then waiting for ``http.disconnect`` ends the request with no answer
    (raising instead would make uvicorn send a 500). Elsewhere, raise ``ConnectionDropped``.
    ``body_read``: the app has already consumed the request body.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if not isinstance(transport, asyncio.BaseTransport):
        raise ConnectionDropped
    message: dict[str, Any] = {"type": "http.request", "more_body": not body_read}
    # Read the whole request first: closing with unread bytes would turn the FIN into a reset.
    while message.get("type") == "http.request" and message.get("more_body"):
        message = await receive()
    transport.close()
    while message.get("type") != "http.disconnect":
        message = await receive()
