"""A minimal batch-upsert server that answers from memory, in a process of its own.

The client-cost and memory benchmarks measure the client, so the server must cost the client
nothing: it runs in a separate process (its CPU is not the client's), keeps no records, and
answers every upsert with a valid 200 body built straight from the request, one result per
input, each carrying the input's ``objectWriteTraceId`` and unique property as HubSpot does.
Raw asyncio rather than an ASGI stack: a few dozen lines, and the fastest answer we can give.

Run alone: ``python -m benchmarks.echo_server`` prints ``listening on http://127.0.0.1:PORT``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import select
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STAMP = "2026-01-05T10:22:00.000Z"
READY = "listening on "
_START_TIMEOUT_S = 15.0
_STOP_TIMEOUT_S = 5.0


def answer(body: bytes, object_ids: Iterator[int]) -> tuple[int, bytes]:
    """The status and JSON body HubSpot would send for one upsert request body."""
    try:
        inputs = json.loads(body)["inputs"]
        results = [_result(item, next(object_ids)) for item in inputs]
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        refusal = {
            "status": "error",
            "message": f"Invalid input JSON: {error}",
            "correlationId": "00000000-0000-4000-8000-000000000000",
            "category": "VALIDATION_ERROR",
        }
        return 400, json.dumps(refusal).encode()
    batch = {"status": "COMPLETE", "results": results, "startedAt": STAMP, "completedAt": STAMP}
    return 200, json.dumps(batch, separators=(",", ":")).encode()


def _result(item: dict[str, Any], object_id: int) -> dict[str, Any]:
    properties = dict(item.get("properties") or {})
    properties[item["idProperty"]] = item["id"]
    properties.update(hs_object_id=str(object_id), hs_createdate=STAMP, hs_lastmodifieddate=STAMP)
    result: dict[str, Any] = {
        "id": str(object_id),
        "properties": properties,
        "createdAt": STAMP,
        "updatedAt": STAMP,
        "archived": False,
        "new": True,
    }
    if "objectWriteTraceId" in item:
        result["objectWriteTraceId"] = item["objectWriteTraceId"]
    return result


_REASONS = {200: b"OK", 400: b"Bad Request", 411: b"Length Required"}


async def _serve_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, object_ids: Iterator[int]
) -> None:
    """HTTP/1.1 with keep-alive; bodies must carry a Content-Length (every client here does)."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            headers = {}
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            if b"content-length" in headers:
                body = await reader.readexactly(int(headers[b"content-length"]))
                status, payload = answer(body, object_ids)
            else:
                status, payload = 411, b"{}"
            writer.write(
                b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                % (status, _REASONS[status], len(payload))
                + payload
            )
            await writer.drain()
            if headers.get(b"connection", b"").lower() == b"close" or status == 411:
                break
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        pass
    finally:
        writer.close()


async def _main(host: str, port: int) -> None:
    object_ids = itertools.count(90_000_000_001)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _serve_connection(reader, writer, object_ids)

    server = await asyncio.start_server(serve, host, port, limit=1 << 24)
    bound = server.sockets[0].getsockname()
    print(f"{READY}http://{bound[0]}:{bound[1]}", flush=True)
    async with server:
        await server.serve_forever()


@dataclass(frozen=True)
class RunningServer:
    base_url: str
    process: subprocess.Popen[str]


@contextlib.contextmanager
def running_echo_server() -> Iterator[RunningServer]:
    """Start the server in a child process on 127.0.0.1 and a free port; stop it at the end."""
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.echo_server"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], _START_TIMEOUT_S)
        line = process.stdout.readline() if ready else ""
        if not line.startswith(READY):
            raise RuntimeError(f"the echo server did not start (said {line!r})")
        yield RunningServer(line[len(READY) :].strip(), process)
    finally:
        process.terminate()
        try:
            process.wait(_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main("127.0.0.1", args.port))


if __name__ == "__main__":
    main()
