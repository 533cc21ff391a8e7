"""Seeded fault injection: latency, 5xx answers (JSON, or a proxy's HTML page) and connections
dropped without an answer."""

from __future__ import annotations

import asyncio
import math
import random
import threading
from dataclasses import dataclass
from typing import Any

import httpx

from hubspot_postal_mail.fake._config import FakeConfig

# What HubSpot and the proxies in front of it answer when something breaks.
SERVER_ERROR_STATUSES = (500, 502, 503, 504)
# What a load balancer in front of HubSpot answers when the service behind it fails.
PROXY_502_PAGE = """<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
</body>
</html>
"""


@dataclass(frozen=True, slots=True)
class Fault:
    """What goes wrong with one request: nothing, a dropped connection, a 5xx status, or a
    proxy's HTML 502 page (``html``)."""

    drop: bool = False
    status: int | None = None
    html: bool = False


class FaultInjector:
    """Draws one ``Fault`` per request from a generator seeded by the config.

    With the same seed and the same order of requests, the same requests fail.
    """

    def __init__(self, config: FakeConfig) -> None:
        self._drop_rate = config.drop_rate
        self._fault_rate = config.fault_rate
        self._html_rate = config.html_fault_rate
        self._seed = config.seed
        # Its own generator, so a seed's drops and 5xx stay where they were before HTML faults.
        self._html_seed = None if self._seed is None else f"{self._seed}-html"
        self._lock = threading.Lock()
        self._random = random.Random(self._seed)  # noqa: S311 - reproducible, not secret
        self._html_random = random.Random(self._html_seed)  # noqa: S311 - reproducible

    def next(self) -> Fault:
        with self._lock:
            # Draw every number every time, so one rate does not shift the other's sequence.
            drop, fail, pick = self._random.random(), self._random.random(), self._random.random()
            html = self._html_random.random()
        if drop < self._drop_rate:
            return Fault(drop=True)
        if fail < self._fault_rate:
            index = int(pick * len(SERVER_ERROR_STATUSES))
            return Fault(status=SERVER_ERROR_STATUSES[index])
        if html < self._html_rate:
            return Fault(status=502, html=True)
        return Fault()

    def reset(self) -> None:
        with self._lock:
            self._random.seed(self._seed)
            self._html_random.seed(self._html_seed)


class Latency:
    """Seconds each admitted upsert takes: ``median * exp(sigma * N(0, 1))``, clamped.

    A log-normal: most answers near the median, a long tail of slow ones, as HubSpot's
    batch writes vary with load. Drawn in admission order from a generator of its own,
    seeded by the config, so latency never shifts the fault sequence.
    """

    def __init__(self, config: FakeConfig) -> None:
        self._median = config.latency_median
        self._sigma = config.latency_sigma
        self._max = config.latency_max_s
        self._seed = f"{config.seed}-latency"
        self._lock = threading.Lock()
        self._random = random.Random(self._seed)  # noqa: S311 - reproducible, not secret

    def next(self) -> float:
        if not self._median:
            return 0.0
        with self._lock:
            spread = math.exp(self._sigma * self._random.gauss(0.0, 1.0)) if self._sigma else 1.0
        seconds = self._median * spread
        return seconds if self._max is None else min(seconds, self._max)

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
