"""A tiny in-memory HubSpot batch upsert, for tests: enough rules to check the runtime against.

``MiniHub.handle`` answers one request body; ``serve`` puts it behind a real HTTP server on
127.0.0.1, and ``MiniHub.mock_transport`` behind an ``httpx.MockTransport``.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

NOW = "2026-01-01T00:00:00.000Z"
BAD_MARK = "BAD"  # a property value the hub refuses, as HubSpot refuses an invalid option


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class MiniHub:
    """Records keyed by id; ``writes`` keeps every accepted write in order, per id."""

    id_property: str = "external_id"
    # "partial": a bad input fails alone (207); "whole": any bad input fails the batch (400);
    # "in200": like partial, but with the errors inside a 200 (HubSpot's 2025 shape).
    bad_mode: str = "partial"
    shuffle: bool = True
    delay_s: float = 0.0
    faults: list[Answer | str] = field(default_factory=list)  # served first, in order
    store: dict[str, dict[str, str]] = field(default_factory=dict)
    object_ids: dict[str, str] = field(default_factory=dict)
    writes: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    requests: int = 0
    batch_sizes: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    rng: random.Random = field(default_factory=lambda: random.Random(7))  # noqa: S311
    _next_id: Iterator[int] = field(default_factory=lambda: itertools.count(1001))

    def next_fault(self) -> Answer | str | None:
        with self.lock:
            self.requests += 1
            return self.faults.pop(0) if self.faults else None

    def handle(self, body: dict[str, Any]) -> Answer:
        inputs = body.get("inputs", [])
        with self.lock:
            self.batch_sizes.append(len(inputs))
            ids = [i["id"] for i in inputs]
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                return Answer(
                    400, _error(f"Duplicate IDs found in batch input: {dupes}", ids=dupes)
                )
            if len(inputs) > 100:
                return Answer(400, _error("Too many inputs"))
            bad = [i for i in inputs if BAD_MARK in i["properties"].values()]
            if bad and self.bad_mode == "whole":
                return Answer(400, _error("Property values were not valid"))
            results, errors = [], []
            for item in inputs:
                if item in bad:
                    errors.append(
                        {
                            "status": "error",
                            "category": "VALIDATION_ERROR",
                            "message": f"bad value for record {item['id']}",
                            "context": {"objectWriteTraceId": [item.get("objectWriteTraceId")]},
                        }
                    )
                    continue
                new = item["id"] not in self.store
                if new:
                    self.object_ids[item["id"]] = str(next(self._next_id))
                self.store[item["id"]] = dict(item["properties"])
                self.writes.append((item["id"], dict(item["properties"])))
                result: dict[str, Any] = {
                    "id": self.object_ids[item["id"]],
                    "properties": {**item["properties"], self.id_property: item["id"]},
                    "createdAt": NOW,
                    "updatedAt": NOW,
                    "archived": False,
                    "new": new,
                }
                if "objectWriteTraceId" in item:
                    result["objectWriteTraceId"] = item["objectWriteTraceId"]
                results.append(result)
            if self.shuffle:
                self.rng.shuffle(results)
                self.rng.shuffle(errors)
        answer: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": NOW,
            "completedAt": NOW,
        }
        if errors:
            answer["errors"] = errors
            answer["numErrors"] = len(errors)
            return Answer(200 if self.bad_mode == "in200" else 207, answer)
        return Answer(200, answer)

    def handler(self) -> Callable[[httpx.Request], httpx.Response]:
        """For ``httpx.MockTransport`` and respx side effects."""

        def respond(request: httpx.Request) -> httpx.Response:
            fault = self.next_fault()
            if fault == "drop":
                raise httpx.RemoteProtocolError("Server disconnected", request=request)
            if isinstance(fault, Answer):
                return httpx.Response(fault.status, json=fault.body, headers=fault.headers)
            answer = self.handle(json.loads(request.content))
            return httpx.Response(answer.status, json=answer.body, headers=answer.headers)

        return respond


def _error(message: str, **context: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": "00000000-0000-0000-0000-000000000000",
        "category": "VALIDATION_ERROR",
    }
    if context:
        body["context"] = context
    return body


def rate_limited(policy: str = "TEN_SECONDLY_ROLLING", **headers: str) -> Answer:
    return Answer(
        429,
        {
            "status": "error",
            "errorType": "RATE_LIMIT",
            "message": "You have reached your secondly limit.",
            "policyName": policy,
            "correlationId": "00000000-0000-0000-0000-000000000000",
        },
        headers,
    )


def server_error(status: int = 502) -> Answer:
    return Answer(status, {"status": "error", "message": "upstream unavailable"})


class _Handler(BaseHTTPRequestHandler):
    hub: MiniHub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        fault = self.hub.next_fault()
        if fault == "drop":
            self.close_connection = True
            self.connection.close()
            return
        if isinstance(fault, Answer):
            self._send(fault)
            return
        if self.hub.delay_s:  # random, so a later request can overtake an earlier one
            with self.hub.lock:
                delay = self.hub.rng.uniform(0, self.hub.delay_s)
            threading.Event().wait(delay)
        self._send(self.hub.handle(json.loads(raw)))

    def _send(self, answer: Answer) -> None:
        data = json.dumps(answer.body).encode()
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


@contextmanager
def serve(hub: MiniHub) -> Iterator[str]:
    """Run ``hub`` behind a threaded HTTP server on 127.0.0.1; yields its base URL."""
    handler = type("Handler", (_Handler,), {"hub": hub})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
