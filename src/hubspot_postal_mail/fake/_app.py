"""The fake HubSpot as one ASGI application, with a Python handle for tests.

Order of events for an upsert, as at HubSpot: infrastructure faults (drops, 5xx, a proxy's
HTML 502) before anything else, then authentication, then rate limits; an admitted request
then takes its time (the latency model, awaited, so other requests go on meanwhile), and
only then is the body read and written.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from hubspot_postal_mail import _spec as spec
from hubspot_postal_mail.fake import _bodies as bodies
from hubspot_postal_mail.fake._auth import Refusal, authenticate
from hubspot_postal_mail.fake._config import FakeConfig
from hubspot_postal_mail.fake._faults import (
    PROXY_502_PAGE,
    FaultInjector,
    Latency,
    drop_connection,
)
from hubspot_postal_mail.fake._limits import DAILY, RateLimiter
from hubspot_postal_mail.fake._store import RecordStore, StoredRecord, timestamp
from hubspot_postal_mail.fake._upsert import Upserter

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# The operation's path, read from the pin (see _spec.UPSERT_PATH): the fake serves exactly what
# the generated client calls, so a version move needs no change here.
UPSERT_PATHS = (spec.UPSERT_PATH,)
# Test-only routes, under a prefix no HubSpot path uses.
CONTROL_PREFIX = "/_fake"


@dataclass(frozen=True, slots=True)
class Call:
    """One request to an upsert path: ``status`` is None when the connection was dropped."""

    path: str
    status: int | None


class FakeHubSpot:
    """ASGI app: ``await fake(scope, receive, send)``; tests use ``records()`` and ``reset()``.

    ``clock`` (monotonic seconds) drives the rate-limit window and ``now`` (aware UTC) the
    timestamps and the daily budget, so tests can move time instead of sleeping.
    """

    def __init__(
        self,
        config: FakeConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config or FakeConfig()
        self._now = now
        self._pin_bodies = self.config.error_bodies == "pin"
        self._store = RecordStore(self.config.unique_properties, self.config.first_object_id)
        per_window, seconds = self.config.rate_limit
        self._limiter = RateLimiter(
            per_window,
            seconds,
            self.config.daily_limit,
            daily_headers=self.config.auth_mode == "private-app",
            clock=clock,
            today=lambda: now().date(),
        )
        self._faults = FaultInjector(self.config)
        self._latency = Latency(self.config)
        self._scopes = spec.required_scopes()
        self._shuffle = random.Random(f"{self.config.seed}-shuffle")  # noqa: S311 - not secret
        self._upsert = Upserter(
            self.config,
            self._store,
            spec.request_validator(),
            request_is_valid=spec.request_is_valid(),
            now=now,
            shuffle=self._shuffle,
        )
        self._calls: list[Call] = []
        self._calls_lock = threading.Lock()
        self._app = Starlette(
            routes=[
                *(Route(path, self._handle_upsert, methods=["POST"]) for path in UPSERT_PATHS),
                Route(f"{CONTROL_PREFIX}/records", self._handle_records, methods=["GET", "DELETE"]),
            ],
            exception_handlers={HTTPException: _http_error},
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in UPSERT_PATHS:
            await self._app(scope, receive, send)
            return
        path = str(scope["path"])
        fault = self._faults.next()
        if fault.drop:
            if self.config.drop_after_write:
                await self._app(scope, receive, _discard)  # written, but the answer is lost
            self._record(Call(path, None))
            await drop_connection(receive, send, body_read=self.config.drop_after_write)
            return
        if fault.html:  # a load balancer's page: no HubSpot headers, no Retry-After
            self._record(Call(path, 502))
            await HTMLResponse(PROXY_502_PAGE, status_code=502)(scope, receive, send)
            return
        if fault.status is not None:
            response = _json(fault.status, bodies.server_error(fault.status), self._retry_after())
            self._record(Call(path, fault.status))
            await response(scope, receive, send)
            return

        async def send_and_record(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._record(Call(path, int(message["status"])))
            await send(message)

        await self._app(scope, receive, send_and_record)

    async def _handle_upsert(self, request: Request) -> Response:
        caller = authenticate(request.headers.get("authorization"), self.config, self._scopes)
        if isinstance(caller, Refusal):
            return _json(caller.status, caller.body)
        decision = self._limiter.acquire(caller.key)
        if not decision.allowed:
            assert decision.policy is not None
            body = bodies.rate_limited(decision.policy, pin=self._pin_bodies)
            return _json(429, body, decision.headers | self._retry_after(decision.policy))
        delay = self._latency.next()
        if delay:
            await asyncio.sleep(delay)
        media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if media_type != "application/json":
            return _json(415, bodies.unsupported_media_type(media_type), decision.headers)
        try:
            payload = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError) as exc:
            body = bodies.malformed_json(str(exc), pin=self._pin_bodies)
            return _json(400, body, decision.headers)
        answer = self._upsert(payload)
        return _json(answer.status, answer.body, decision.headers)

    async def _handle_records(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.reset()
            return Response(status_code=204)
        return JSONResponse({"results": [record_json(r) for r in self.records()]})

    def _retry_after(self, policy: str | None = None) -> dict[str, str]:
        """The configured Retry-After, except on a DAILY 429: that one clears at midnight (UTC
        here), never in a few seconds, so it says so."""
        seconds = self.config.retry_after
        if seconds is None:
            return {}
        if policy == DAILY:
            now = self._now()
            midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
            seconds = math.ceil((midnight - now).total_seconds())
        return {"Retry-After": str(seconds)}

    def _record(self, call: Call) -> None:
        with self._calls_lock:
            self._calls.append(call)

    # The Python API for tests.

    def records(self) -> list[StoredRecord]:
        """Every stored record, oldest first."""
        return self._store.records()

    def find(self, id_property: str, value: str) -> StoredRecord | None:
        """The record whose unique property ``id_property`` has ``value``."""
        return self._store.find(id_property, value)

    def calls(self) -> list[Call]:
        """Every request to an upsert path so far, in arrival order."""
        with self._calls_lock:
            return list(self._calls)

    def reset(self) -> None:
        """Forget records, calls and rate-limit counts; restart the fault sequence."""
        self._store.reset()
        self._limiter.reset()
        self._faults.reset()
        self._latency.reset()
        self._shuffle.seed(f"{self.config.seed}-shuffle")
        with self._calls_lock:
            self._calls.clear()


def record_json(record: StoredRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "properties": dict(record.properties),
        "createdAt": timestamp(record.created_at),
        "updatedAt": timestamp(record.updated_at),
    }


async def _discard(message: Message) -> None:
    """A ``send`` that loses the response."""


def _json(status: int, body: bodies.Body, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers=headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Routing failures (404, 405) as JSON ``Error`` bodies, as HubSpot answers them."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        body = bodies.method_not_allowed(request.method)
    elif exc.status_code == 404:
        body = bodies.not_found(request.url.path)
    else:
        body = bodies.error(str(exc.detail), "VALIDATION_ERROR")
    return _json(exc.status_code, body, dict(exc.headers or {}))
