"""Fixtures for the fake HubSpot's tests: an in-process client that checks every answer
against the pinned spec, and clocks the tests move by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from hubspot_postal_mail import _spec as spec
from hubspot_postal_mail.fake import UPSERT_PATHS, FakeConfig, FakeHubSpot

PATH = UPSERT_PATHS[0]
TOKEN = "pat-na1-11111111-2222-4333-8444-555555555555"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class ManualClock:
    """Monotonic seconds and wall time that only move when a test says so."""

    def __init__(self) -> None:
        self.seconds = 1000.0
        self.wall = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)

    def monotonic(self) -> float:
        return self.seconds

    def now(self) -> datetime:
        return self.wall

    def advance(self, seconds: float) -> None:
        self.seconds += seconds
        self.wall += timedelta(seconds=seconds)


def assert_conforms(response: httpx.Response) -> None:
    """An upsert answer must be JSON that fits the pin's schema for its status."""
    assert response.headers["content-type"].startswith("application/json")
    errors = list(spec.response_validator(response.status_code).iter_errors(response.json()))
    assert not errors, [e.message for e in errors]


async def _check(response: httpx.Response) -> None:
    if response.request.url.path in UPSERT_PATHS:
        await response.aread()
        assert_conforms(response)


def inputs(*ids: str, id_property: str = "external_id", **properties: str) -> dict[str, Any]:
    """A request body upserting one record per id, each with ``properties``."""
    return {
        "inputs": [
            {"id": i, "idProperty": id_property, "properties": dict(properties)} for i in ids
        ]
    }


def traced(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with a unique objectWriteTraceId on every input."""
    for n, item in enumerate(body["inputs"]):
        item["objectWriteTraceId"] = f"trace-{n}"
    return body


@dataclass
class Harness:
    """A fresh fake and an httpx client reaching it in-process (httpx.ASGITransport)."""

    app: FakeHubSpot
    client: httpx.AsyncClient

    async def upsert(
        self, body: Any, *, headers: dict[str, str] | None = None, path: str = PATH
    ) -> httpx.Response:
        return await self.client.post(path, json=body, headers=AUTH if headers is None else headers)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def make_fake(clock: ManualClock) -> AsyncIterator[Callable[..., Harness]]:
    """``make_fake(**FakeConfig options)``: every upsert answer it gets is checked against the
    pinned spec by a response hook, so each test also proves the fake conforms. Tests of the
    answers HubSpot sends off the pin (HTML pages, bodies without ``category``) pass
    ``off_pin=True`` and check the answers themselves."""
    clients: list[httpx.AsyncClient] = []

    def make(*, off_pin: bool = False, **options: Any) -> Harness:
        app = FakeHubSpot(FakeConfig(**options), clock=clock.monotonic, now=clock.now)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://fake.test",
            event_hooks={"response": [] if off_pin else [_check]},
        )
        clients.append(client)
        return Harness(app, client)

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def fake(make_fake: Callable[..., Harness]) -> Harness:
    """A fake with every default: any token, external_id unique, 100/10 s, no faults."""
    return make_fake()
