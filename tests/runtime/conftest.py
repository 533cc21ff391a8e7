"""Shared pieces for the runtime tests: a token, a base URL, and a sleep that only records."""

from __future__ import annotations

import pytest

from hubspot_postal_mail import UPSERT_PATH

TOKEN = "pat-na1-7e57c0de-dead-4bee-8f00-123456789abc"
BASE_URL = "https://api.example.test"
UPSERT_URL = f"{BASE_URL}{UPSERT_PATH}"


class RecordingSleep:
    """An async (and sync) sleep that returns at once and remembers what it was asked."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)

    def sync(self, seconds: float) -> None:
        self.calls.append(seconds)


class FakeTime:
    """A monotonic clock that moves only when slept on: pacing tests without waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def sync_sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture(autouse=True)
def _no_ambient_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests say which token and base URL they use; the developer's environment does not."""
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)
    monkeypatch.delenv("HUBSPOT_BASE_URL", raising=False)
