"""A caller's stop request ends a run cleanly, and a rerun with the state sends the rest."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import respx

from hubspot_postal_mail import (
    Progress,
    RetryPolicy,
    StopReason,
    UpsertReport,
    aupsert_all,
    upsert_all,
)

from ._hub import MiniHub
from .conftest import BASE_URL, TOKEN, UPSERT_URL

FAST = RetryPolicy(initial_wait=0.001, max_wait=0.002)


def _run(hub: MiniHub, n: int, tmp_path: Path, stop: threading.Event | None) -> UpsertReport:
    def stop_after_first_batch(progress: Progress) -> None:
        if stop is not None and progress.done >= 100:
            stop.set()

    with respx.mock(assert_all_called=False) as mock:
        mock.post(UPSERT_URL).mock(side_effect=hub.handler())
        return upsert_all(
            [{"external_id": f"E{i}", "seq": str(i)} for i in range(n)],
            id_property="external_id",
            token=TOKEN,
            base_url=BASE_URL,
            concurrency=1,
            rate_limit="100000/1",
            retry_policy=FAST,
            state=tmp_path / "run.state",
            report=tmp_path / "report.jsonl",
            on_progress=stop_after_first_batch,
            stop=stop,
        )


def test_a_stop_request_sends_nothing_new_and_a_rerun_finishes(tmp_path: Path) -> None:
    hub = MiniHub(shuffle=False)
    stop = threading.Event()
    first = _run(hub, 1000, tmp_path, stop)
    assert first.stop_reason is StopReason.INTERRUPTED
    assert first.exit_status == 3
    assert first.created == 100
    assert hub.requests == 1
    assert first.total == 100

    second = _run(hub, 1000, tmp_path, None)
    assert second.stopped is None
    assert second.unchanged == 100
    assert second.created == 900
    assert hub.requests == 1 + 9
    lines = [json.loads(t)["line"] for t in (tmp_path / "report.jsonl").read_text().splitlines()]
    assert sorted(lines) == list(range(1, 1001))  # the rerun's report has every line


def test_a_long_unchanged_stretch_shows_progress_and_heeds_a_stop_request(
    tmp_path: Path,
) -> None:
    """An unchanged rerun sends nothing, so no answer ever comes back to the loop: it still
    reports progress as it reads, and a stop request (a Ctrl+C) is seen within a slice of
    records, not at the end of the input."""
    n = 20_000
    hub = MiniHub(shuffle=False)
    rows = [{"external_id": f"E{i}", "seq": str(i)} for i in range(n)]
    options: dict[str, Any] = {
        "id_property": "external_id",
        "token": TOKEN,
        "base_url": BASE_URL,
        "rate_limit": "100000/1",
        "state": tmp_path / "run.state",
    }
    with respx.mock(assert_all_called=False) as mock:
        mock.post(UPSERT_URL).mock(side_effect=hub.handler())
        assert upsert_all(rows, **options).created == n
        requests = hub.requests
        seen: list[int] = []
        stop = threading.Event()

        def reading() -> Iterator[dict[str, str]]:
            for i, row in enumerate(rows):
                if i == n // 2:  # a signal handler: it runs when the event loop gets a turn
                    asyncio.get_running_loop().call_soon(stop.set)
                yield row

        again = asyncio.run(
            aupsert_all(reading(), **options, on_progress=lambda p: seen.append(p.read), stop=stop)
        )
    assert hub.requests == requests  # nothing sent
    assert again.stop_reason is StopReason.INTERRUPTED
    assert n // 2 <= again.unchanged < n // 2 + 2_000
    assert len([read for read in seen if 0 < read < n // 2]) >= 5
