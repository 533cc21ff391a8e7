"""Client cost: process CPU per 100-record batch upsert, side by side, against one local server.

Every contender starts from the same flat records and does what its users would do: build the
request its way, send it, and get the per-record results back in its own types. A run is one
client set up plus ``batches`` upserts in a row, so set-up costs are paid once per run, as in a
real job; runs of all contenders are interleaved so that a change in machine load hits each
alike. The server (``echo_server``) runs in another process, so its CPU is not counted.
"""

from __future__ import annotations

import asyncio
import gc
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from hubspot_postal_mail_client import AuthenticatedClient
from hubspot_postal_mail_client.api.batch import batch_upsert
from hubspot_postal_mail_client.models import (
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchResponseSimplePublicUpsertObject,
)

from benchmarks.records import BATCH, ID_PROPERTY, api_inputs
from benchmarks.stats import Summary, summarise
from hubspot_postal_mail import UPSERT_PATH, RateLimit, upsert_all

TOKEN = "pat-na1-00000000-0000-4000-8000-000000000000"  # noqa: S105 - a fake, for a local server
Batches = list[list[dict[str, str]]]
Runner = Callable[[str, Batches], None]


class WrongAnswer(AssertionError):
    """A contender did not get one result per record back: its figure would mean nothing."""


def _check(results: int) -> None:
    if results != BATCH:
        raise WrongAnswer(f"expected {BATCH} results, got {results}")


def raw_httpx(base_url: str, batches: Batches) -> None:
    """The floor: httpx and the json module, no models."""
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    with httpx.Client(base_url=base_url) as client:
        for batch in batches:
            body = json.dumps(api_inputs(batch)).encode()
            response = client.post(UPSERT_PATH, content=body, headers=headers)
            response.raise_for_status()
            _check(len(json.loads(response.content)["results"]))


def generated_sync(base_url: str, batches: Batches) -> None:
    """Our generated client, blocking: ``batch_upsert.sync_detailed``."""
    with AuthenticatedClient(base_url=base_url, token=TOKEN) as client:
        for batch in batches:
            body = BatchInputSimplePublicObjectBatchInputUpsert.from_dict(api_inputs(batch))
            parsed = batch_upsert.sync_detailed(client=client, body=body).parsed
            assert isinstance(parsed, BatchResponseSimplePublicUpsertObject)
            _check(len(parsed.results))


def generated_async(base_url: str, batches: Batches) -> None:
    """Our generated client on asyncio: ``batch_upsert.asyncio_detailed``, one at a time."""

    async def run() -> None:
        async with AuthenticatedClient(base_url=base_url, token=TOKEN) as client:
            for batch in batches:
                body = BatchInputSimplePublicObjectBatchInputUpsert.from_dict(api_inputs(batch))
                response = await batch_upsert.asyncio_detailed(client=client, body=body)
                assert isinstance(response.parsed, BatchResponseSimplePublicUpsertObject)
                _check(len(response.parsed.results))

    asyncio.run(run())


def our_upsert_all(base_url: str, batches: Batches) -> None:
    """``upsert_all`` over the same records, pacing out of the way: one request at a time."""
    flat = [rec for batch in batches for rec in batch]
    report = upsert_all(
        flat,
        id_property=ID_PROPERTY,
        token=TOKEN,
        base_url=base_url,
        concurrency=1,
        rate_limit=RateLimit(1_000_000, 1.0),
    )
    if report.created != len(flat) or report.requests != len(batches):
        raise WrongAnswer(f"upsert_all: {report.summary()}")


def official(base_url: str, batches: Batches) -> None:
    """HubSpot's ``hubspot-api-client``: its postal-mail ``BatchApi.upsert``."""
    from hubspot import HubSpot
    from hubspot.crm.objects.postal_mail import (
        BatchInputSimplePublicObjectBatchInputUpsert as OfficialBatch,
    )
    from hubspot.crm.objects.postal_mail import (
        SimplePublicObjectBatchInputUpsert as OfficialInput,
    )

    api: Any = HubSpot(access_token=TOKEN, host=base_url).crm.objects.postal_mail.batch_api
    try:
        for batch in batches:
            inputs = [
                OfficialInput(
                    id=rec[ID_PROPERTY],
                    id_property=ID_PROPERTY,
                    properties={k: v for k, v in rec.items() if k != ID_PROPERTY},
                )
                for rec in batch
            ]
            answer = api.upsert(OfficialBatch(inputs=inputs))
            _check(len(answer.results))
    finally:
        api.api_client.close()


@dataclass(frozen=True)
class Contender:
    key: str
    name: str
    run: Runner
    floor: bool = False


CONTENDERS = (
    Contender("raw", "raw httpx + json (floor)", raw_httpx, floor=True),
    Contender("gen_sync", "generated client, sync_detailed", generated_sync),
    Contender("gen_async", "generated client, asyncio_detailed", generated_async),
    Contender("upsert_all", "upsert_all (runtime)", our_upsert_all),
    Contender("official", "hubspot-api-client 12 BatchApi.upsert", official),
)


@dataclass(frozen=True)
class Timing:
    cpu_ms: Summary  # process CPU per batch
    wall_ms: Summary  # wall time per batch (the server's answer time included)


def measure(
    base_url: str,
    batches: Batches,
    *,
    runs: int,
    contenders: tuple[Contender, ...] = CONTENDERS,
) -> dict[str, Timing]:
    """Per-batch CPU and wall time for each contender: one warm-up run, then ``runs`` runs."""
    for contender in contenders:
        contender.run(base_url, batches)  # warm-up: imports, caches, first connections
    cpu: dict[str, list[float]] = {c.key: [] for c in contenders}
    wall: dict[str, list[float]] = {c.key: [] for c in contenders}
    for _ in range(runs):
        for contender in contenders:
            gc.collect()
            cpu_start, wall_start = time.process_time(), time.perf_counter()
            contender.run(base_url, batches)
            cpu[contender.key].append((time.process_time() - cpu_start) * 1000 / len(batches))
            wall[contender.key].append((time.perf_counter() - wall_start) * 1000 / len(batches))
    return {c.key: Timing(summarise(cpu[c.key]), summarise(wall[c.key])) for c in contenders}
