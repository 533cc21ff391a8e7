"""HubSpot as it really is: slow answers, whole-batch 409s, refusals about the request itself,
an unreachable host, absurd headers, trickling and broken bodies, a full disk, a stop request."""

from __future__ import annotations

import gzip
import io
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from hubspot_postal_mail import (
    Outcome,
    RateLimit,
    RecordResult,
    RetryPolicy,
    StopReason,
    UpsertReport,
    upsert_all,
)
from hubspot_postal_mail._answers import MESSAGE_KEPT, request_error
from hubspot_postal_mail._concurrency import Concurrency
from hubspot_postal_mail._config import RedactingFilter, Secret
from hubspot_postal_mail._pacing import RequestBudget
from hubspot_postal_mail._rate_limits import RateLimitInfo
from hubspot_postal_mail._retry_policy import Kind
from hubspot_postal_mail._state import State
from hubspot_postal_mail._transport import AnswerTooLarge, AsyncResilientTransport
from hubspot_postal_mail.fake._server import RunningFake

from ._hub import Answer, MiniHub
from .conftest import BASE_URL, TOKEN, UPSERT_URL

FAST = RetryPolicy(initial_wait=0.001, max_wait=0.002)
Factory = Callable[..., RunningFake]


def rows(n: int, prefix: str = "E") -> list[dict[str, str]]:
    return [{"external_id": f"{prefix}{i}", "hs_postal_mail_body": f"v{i}"} for i in range(n)]


def upsert(data: Any, **options: Any) -> UpsertReport:
    """``upsert_all`` keyed by external_id, against the mocked HubSpot, retrying at once."""
    settings: dict[str, Any] = {"token": TOKEN, "base_url": BASE_URL, "retry_policy": FAST}
    return upsert_all(data, id_property="external_id", **{**settings, **options})


# -- concurrency follows latency ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("latency_s", "expected"), [(0.05, 4), (1.0, 31), (2.0, 59), (3.0, 88), (10.0, 190)]
)
def test_in_flight_follows_rate_times_latency_bounded_by_one_windows_budget(
    latency_s: float, expected: int
) -> None:
    gauge = Concurrency(RequestBudget(RateLimit(190, 10.0)))
    gauge.observe(latency_s)
    assert gauge.limit == expected


def test_auto_stays_within_hubspots_largest_window_whatever_budget_it_is_given() -> None:
    gauge = Concurrency(RequestBudget(RateLimit(100_000, 1.0)))
    assert gauge.limit == 250  # before any answer: the 1 s first guess would say 100,000
    gauge.observe(0.01)
    assert gauge.limit == 250


def test_a_number_caps_the_in_flight_target() -> None:
    gauge = Concurrency(RequestBudget(RateLimit(190, 10.0)), cap=8)
    gauge.observe(3.0)
    assert gauge.limit == 8


class InFlight(httpx.AsyncBaseTransport):
    """The real transport, counting requests on the wire at once."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.now = 0
        self.peak = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.now += 1
        self.peak = max(self.peak, self.now)
        try:
            response = await self.inner.handle_async_request(request)
            await response.aread()
            return response
        finally:
            self.now -= 1

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_auto_concurrency_keeps_more_requests_in_flight_when_answers_are_slow(
    hubspot_fake_factory: Factory,
) -> None:
    fake = hubspot_fake_factory(latency_median_s=0.3, rate_limit=(100, 1.0))
    wire = InFlight()
    report = upsert_all(
        rows(3000, "S"),
        id_property="external_id",
        token=fake.token,
        base_url=fake.base_url,
        rate_limit="100/1",
        transport=wire,
    )
    assert report.created == 3000
    assert report.rate_limited == 0
    # 100 a second at 0.3 s each: ~30 must be in flight; the old fixed default was 10.
    assert wire.peak > 10


# -- whole-batch refusals ----------------------------------------------------------------------


def test_a_whole_batch_409_is_split_until_the_conflicting_record_is_alone(
    hubspot_fake_factory: Factory,
) -> None:
    fake = hubspot_fake_factory(conflict_share=0.02, seed=5, rate_limit=(1000, 1.0))
    results: list[RecordResult] = []
    report = upsert_all(
        rows(1000),
        id_property="external_id",
        token=fake.token,
        base_url=fake.base_url,
        rate_limit="1000/1",
        retry_policy=FAST,
        report=results.append,
    )
    failed = [r for r in results if r.outcome is Outcome.FAILED]
    assert failed, "the seed makes some ids conflict"
    assert len(failed) < 60  # ~2% of the ids, not whole batches
    assert all(r.error is not None and r.error.category == "CONFLICT" for r in failed)
    assert all(r.error is not None and "Existing ID" in r.error.message for r in failed)
    assert report.created == 1000 - len(failed)
    assert len(fake.app.records()) == report.created
    assert report.stop_reason is None


# A refusal of every request alike in words the runtime does not know (the non-unique id
# property's own words stop the run at once: see the test after these two).
ALIKE = {
    "status": "error",
    "message": "Request refused for this portal",
    "category": "VALIDATION_ERROR",
}


def _refused_alike(records: int, concurrency: int) -> tuple[UpsertReport, int]:
    """A run against a HubSpot that answers every request with ALIKE; and its requests."""
    with respx.mock() as mock:
        route = mock.post(UPSERT_URL).mock(return_value=httpx.Response(400, json=ALIKE))
        report = upsert(
            rows(records),
            concurrency=concurrency,
        )
    return report, route.call_count


def test_a_refusal_that_holds_down_to_single_records_stops_the_run_cheaply() -> None:
    report, requests = _refused_alike(1000, concurrency=1)
    assert report.stop_reason is StopReason.REFUSED
    assert ALIKE["message"] in (report.stopped or "")
    assert requests < 20  # bisecting one batch to single records takes 199
    assert (report.created, report.failed) == (0, 0)
    assert report.unfinished > 0  # read, not sent: a rerun sends them
    assert report.exit_status == 3


def test_batches_in_flight_wait_for_one_probe_of_a_refusal_instead_of_each_bisecting() -> None:
    """HubSpot refuses every request alike. With many batches in flight, one is probed and the
    others end with the run (the first run measured 214 requests and 17 429s for 3,000
    records before this)."""
    report, requests = _refused_alike(3000, concurrency=16)
    assert report.stop_reason is StopReason.REFUSED
    assert requests < 60  # each of 16 batches bisecting alone: 16 x 14 and more
    assert (report.created, report.failed) == (0, 0)
    assert report.unfinished > 0  # the records read: a rerun sends them, and those after


def test_an_id_property_hubspot_will_not_upsert_by_stops_the_run_at_its_first_refusal(
    hubspot_fake_factory: Factory,
) -> None:
    """Every line of one id: its batches hold one record each, so nothing is ever bisected or
    probed; before, each line cost a request (1,000 lines, 1,000 refused requests)."""
    fake = hubspot_fake_factory()
    data = [
        {"external_id": f"E{i}", "hubspot_owner_id": "O1", "hs_postal_mail_body": str(i)}
        for i in range(1000)
    ]
    report = upsert_all(
        data,
        id_property="hubspot_owner_id",  # not a unique-value property
        token=fake.token,
        base_url=fake.base_url,
        retry_policy=FAST,
    )
    assert report.stop_reason is StopReason.REFUSED
    assert report.requests == 1
    assert "'hubspot_owner_id', which is not a unique-value property" in (report.stopped or "")
    assert "non-unique 0-116 property hubspot_owner_id" in (report.stopped or "")
    assert (report.failed, report.unfinished, report.exit_status) == (0, 1000, 3)
    assert fake.app.records() == []


# -- unreachable ---------------------------------------------------------------------------------


def test_a_run_that_cannot_reach_hubspot_stops_early_and_resumably() -> None:
    with respx.mock() as mock:
        route = mock.post(UPSERT_URL).mock(side_effect=httpx.ConnectError("refused"))
        report = upsert(
            rows(5000),
            concurrency=2,
            unreachable_after=(4, 0.0),
        )
    assert report.stop_reason is StopReason.UNREACHABLE
    assert report.exit_status == 3
    assert route.call_count < 12  # not 50 batches x 6 attempts
    assert report.created == 0
    assert report.unfinished > 0


def test_a_short_outage_is_retried_not_taken_for_unreachable() -> None:
    answers: list[Any] = [httpx.ConnectError("refused")] * 3
    hub = MiniHub()

    def respond(request: httpx.Request) -> httpx.Response:
        if answers:
            raise answers.pop()
        return hub.handler()(request)

    with respx.mock() as mock:
        mock.post(UPSERT_URL).mock(side_effect=respond)
        report = upsert(
            rows(100),
            unreachable_after=(10, 0.0),
        )
    assert (report.created, report.stop_reason) == (100, None)


# -- headers may not stall the run ---------------------------------------------------------------


def test_an_absurd_retry_after_fails_that_request_and_blocks_no_one() -> None:
    hub = MiniHub()
    throttled = Answer(429, {"status": "error", "message": "slow down"}, {"Retry-After": "1e9"})
    hub.faults.append(throttled)
    started = time.monotonic()
    with respx.mock() as mock:
        mock.post(UPSERT_URL).mock(side_effect=hub.handler())
        report = upsert(
            rows(300),
            concurrency=1,
        )
    assert time.monotonic() - started < 10
    assert (report.created, report.failed) == (200, 100)


def test_rate_limit_headers_claiming_one_request_an_hour_are_ignored() -> None:
    budget = RequestBudget(RateLimit(100, 10.0))
    slot = budget.reserve(0.0)
    assert not isinstance(slot, float)
    budget.settle(slot, 0.1, RateLimitInfo(max=1, remaining=0, interval_s=3600.0))
    assert (budget.limit, budget.interval) == (100, 10.0)
    hourly = budget.reserve(0.1)
    assert not isinstance(hourly, float)
    budget.settle(hourly, 0.15, RateLimitInfo(max=5000, remaining=4000, interval_s=3600.0))
    assert (budget.limit, budget.interval) == (100, 10.0)  # a window over a minute: ignored
    tighter = budget.reserve(0.2)
    assert not isinstance(tighter, float)
    budget.settle(tighter, 0.3, RateLimitInfo(max=50, remaining=40, interval_s=10.0))
    assert (budget.limit, budget.interval) == (50, 10.0)  # a plausible tightening still counts


def test_a_stop_request_ends_a_run_whose_requests_wait_on_a_retry_after_at_once() -> None:
    hub = MiniHub()
    hub.faults.append(Answer(429, {"status": "error", "message": "wait"}, {"Retry-After": "100"}))
    stop = threading.Event()
    timer = threading.Timer(0.5, stop.set)
    timer.start()
    started = time.monotonic()
    try:
        with respx.mock() as mock:
            mock.post(UPSERT_URL).mock(side_effect=hub.handler())
            report = upsert_all(
                rows(500),
                id_property="external_id",
                token=TOKEN,
                base_url=BASE_URL,
                concurrency=1,
                stop=stop,
            )
    finally:
        timer.cancel()
    assert time.monotonic() - started < 5  # not the 100 s the server asked for
    assert report.stop_reason is StopReason.INTERRUPTED
    assert report.created == 0
    assert report.unfinished > 0


# -- whole answers, inside the retry loop --------------------------------------------------------


@contextmanager
def trickling_server(answer: bytes, gap_s: float) -> Iterator[str]:
    """A server that sends its headers, then one byte of body every ``gap_s``."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve_one(conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(answer)}\r\n\r\n".encode()
            conn.sendall(head)
            for byte in answer:
                if stop.wait(gap_s):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            threading.Thread(target=serve_one, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def test_a_trickling_answer_is_cut_off_at_the_attempt_deadline_and_retried() -> None:
    with trickling_server(b'{"status": "COMPLETE", "results": []}' * 10, gap_s=0.05) as url:
        started = time.monotonic()
        report = upsert_all(
            rows(3),
            id_property="external_id",
            token=TOKEN,
            base_url=url,
            retry_policy=RetryPolicy(max_attempts=2, initial_wait=0.01, max_wait=0.02),
            attempt_deadline=0.4,
        )
    assert time.monotonic() - started < 5
    assert (report.requests, report.retries, report.failed) == (2, 1, 3)
    assert report.failures[0].error is not None
    assert report.failures[0].error.category == "TIMEOUT"


def test_a_body_cut_short_is_retried_like_any_broken_answer() -> None:
    hub = MiniHub()

    class CutStream(httpx.AsyncByteStream):
        async def __aiter__(self) -> Any:
            yield b'{"status": "COMP'
            raise httpx.RemoteProtocolError("peer closed connection without sending complete body")

    calls = [0]

    def respond(request: httpx.Request) -> httpx.Response:
        calls[0] += 1
        if calls[0] == 1:
            return httpx.Response(200, stream=CutStream())
        return hub.handler()(request)

    with respx.mock() as mock:
        mock.post(UPSERT_URL).mock(side_effect=respond)
        report = upsert(rows(50))
    assert (report.created, report.retries) == (50, 1)


async def test_a_compressed_answer_is_not_inflated_past_the_cap() -> None:
    bomb = gzip.compress(b"0" * 5_000_000)  # 5 MB once inflated, a few kB on the wire
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    with respx.mock() as mock:
        mock.post(UPSERT_URL).mock(return_value=httpx.Response(200, content=bomb, headers=headers))
        transport = AsyncResilientTransport(
            policy=RetryPolicy(max_attempts=1), max_answer_bytes=1_000_000
        )
        async with httpx.AsyncClient(transport=transport) as client:
            with pytest.raises(AnswerTooLarge, match="larger than 1000000 bytes"):
                await client.post(UPSERT_URL, json={})


# -- what the report keeps -----------------------------------------------------------------------


def test_a_token_split_by_the_cut_of_an_error_body_is_still_redacted() -> None:
    token = "pat-na1-" + "7" * 36
    body = ("x" * 290 + token + "y" * 100).encode()  # the 300-character cut falls in the token
    redact = RedactingFilter([Secret(token)]).redact
    error = request_error(502, body, None, Kind.SERVER_ERROR, redact)
    assert "7777" not in error.message
    assert "<redacted>" in error.message


def test_a_huge_hubspot_message_is_cut_and_says_so() -> None:
    huge = "Property values were not valid: " + "z" * 1_000_000
    body = {"status": "error", "message": huge, "category": "VALIDATION_ERROR"}
    with respx.mock() as mock:
        mock.post(UPSERT_URL).mock(return_value=httpx.Response(400, json=body))
        report = upsert(rows(1))
    error = report.failures[0].error
    assert error is not None
    assert len(error.message) < MESSAGE_KEPT + 100
    assert error.message.endswith(f"[cut: {len(huge)} characters in all]")


class FullDisk(io.StringIO):
    """A report stream whose disk fills after ``room`` lines."""

    def __init__(self, room: int) -> None:
        super().__init__()
        self.room = room

    def write(self, text: str) -> int:
        if self.room <= 0:
            raise OSError(28, "No space left on device")
        self.room -= text.count("\n")
        return super().write(text)


def test_records_are_confirmed_in_the_state_only_once_their_report_lines_are_written(
    tmp_path: Path,
) -> None:
    path = tmp_path / "run.state"
    report_stream = FullDisk(room=150)
    hub = MiniHub()
    with respx.mock() as mock:
        mock.post(UPSERT_URL).mock(side_effect=hub.handler())
        with pytest.raises(OSError, match="No space"):
            upsert(
                rows(400),
                concurrency=1,
                state=path,
                report=report_stream,
            )
    lines = report_stream.getvalue().count("\n")
    with State(path, base_url=BASE_URL, id_property="external_id") as state:
        confirmed = state.summary().ids
    assert confirmed <= lines  # never a confirmed record without its report line
    assert confirmed == 100  # the first batch: the second filled the disk mid-way


def test_report_unchanged_summary_has_every_counter() -> None:
    assert {"total", "created", "updated", "unchanged", "failed", "skipped"} <= set(
        UpsertReport().summary()
    )
