"""An oracle someone else wrote: the generated client against Prism, Stoplight's mock server.

Prism reads the pinned spec (plus the overlay that declares error bodies as JSON, the one
deviation Prism needs to answer errors in a parseable way) and knows nothing of our code, so it
catches misreadings of the spec that our own mocks and fake would share:

- schema-generated valid bodies, sent by the generated client, are accepted (never 422);
- deliberately invalid bodies are rejected, and the fake HubSpot rejects exactly those too;
- Prism's dynamic (randomly generated) 200, 207 and error answers parse into the models.

Prism is pinned in tools/prism/ and installed by ``make prism`` (``make test`` runs it). In CI
(``CI=true``) these tests must run, and fail if Prism cannot start; elsewhere, without Prism
installed, they skip and say how to enable them.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hubspot_postal_mail_client import AuthenticatedClient, Client
from hubspot_postal_mail_client.api.batch import batch_upsert
from hubspot_postal_mail_client.models import (
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchResponseSimplePublicUpsertObject,
    BatchResponseSimplePublicUpsertObjectWithErrors,
    Error,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from contract_tests.pinned import PATH, REQUEST_SCHEMA, documents, pinned
from hubspot_postal_mail.fake import FakeConfig, FakeHubSpot
from scripts.overlay import apply_overlay
from scripts.paths import OVERLAYS, ROOT
from scripts.spec_io import dump_yaml, load_document

PRISM = ROOT / ".node" / "node_modules" / ".bin" / "prism"
HOW_TO_ENABLE = (
    "Prism is not installed: run `make prism` (needs Node.js >= 18.20 and npm) to enable the "
    "Prism oracle tests; `make test` does it for you when npm is present."
)
ERROR_CONTENT_OVERLAY = OVERLAYS / "20-error-content-type.yaml"
TOKEN = "pat-na1-00000000-prism-oracle"  # made up; Prism only checks that one is there
_START_TIMEOUT = 60.0


@dataclass(frozen=True)
class PrismServer:
    process: subprocess.Popen[bytes]
    base_url: str
    port: int


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


def write_prism_spec(folder: Path) -> Path:
    """The pin with only the error-content-type overlay: what Prism needs, nothing more."""
    document = apply_overlay(
        pinned(), load_document(ERROR_CONTENT_OVERLAY), name=ERROR_CONTENT_OVERLAY.name
    )
    target = folder / "postal_mail.prism.yaml"
    target.write_text(dump_yaml(document), encoding="utf-8")
    return target


@contextlib.contextmanager
def running_prism(spec_path: Path, log_path: Path) -> Iterator[PrismServer]:
    """``prism mock -d`` on 127.0.0.1, stopped (and waited for) when the block ends."""
    port = _free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - the pinned local Prism, fixed arguments
            [
                str(PRISM),
                "mock",
                "--dynamic",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                str(spec_path),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + _START_TIMEOUT
            while not _listening(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    output = log_path.read_text(errors="replace")
                    pytest.fail(f"Prism did not start on port {port}:\n{output}")
                time.sleep(0.1)
            yield PrismServer(process, f"http://127.0.0.1:{port}", port)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def prism_spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not PRISM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the Prism oracle tests. {HOW_TO_ENABLE}")
        pytest.skip(HOW_TO_ENABLE)
    return write_prism_spec(tmp_path_factory.mktemp("prism"))


@pytest.fixture(scope="module")
def prism(prism_spec: Path) -> Iterator[PrismServer]:
    with running_prism(prism_spec, prism_spec.with_suffix(".log")) as server:
        yield server


@pytest.fixture(scope="module")
def client(prism: PrismServer) -> Iterator[AuthenticatedClient]:
    with AuthenticatedClient(base_url=prism.base_url, token=TOKEN) as authenticated:
        yield authenticated


def _upsert(client: AuthenticatedClient, body: dict[str, Any]) -> Any:
    model = BatchInputSimplePublicObjectBatchInputUpsert.from_dict(copy.deepcopy(body))
    return batch_upsert.sync_detailed(client=client, body=model)


@settings()
@given(body=documents(REQUEST_SCHEMA))
def test_schema_generated_bodies_are_accepted_and_200s_parse(
    client: AuthenticatedClient, body: dict[str, Any]
) -> None:
    response = _upsert(client, body)
    assert response.status_code != 422, response.headers.get("sl-violations")
    assert response.status_code == 200
    assert isinstance(response.parsed, BatchResponseSimplePublicUpsertObject)
    assert response.parsed.to_dict()["results"] is not None


@settings()
@given(body=documents(REQUEST_SCHEMA))
def test_prisms_dynamic_207s_parse(client: AuthenticatedClient, body: dict[str, Any]) -> None:
    response = _upsert(client.with_headers({"Prefer": "code=207"}), body)
    assert response.status_code == 207
    parsed = response.parsed
    assert isinstance(parsed, BatchResponseSimplePublicUpsertObjectWithErrors)
    for error in parsed.errors or []:
        assert isinstance(error.message, str)


@pytest.mark.parametrize("status", [400, 429, 500])
def test_prisms_error_answers_parse_as_error(client: AuthenticatedClient, status: int) -> None:
    response = _upsert(client.with_headers({"Prefer": f"code={status}"}), {"inputs": []})
    assert response.status_code == status
    assert isinstance(response.parsed, Error)


def test_a_request_without_a_token_is_refused_as_the_pin_requires(prism: PrismServer) -> None:
    with Client(base_url=prism.base_url) as anonymous:
        response = anonymous.get_httpx_client().post(PATH, json={"inputs": []})
    assert response.status_code == 401


AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
# Negative generation may give raw bytes (a body that is not JSON at all): sent as they are.
JSON_TYPES = (dict, list, str, int, float, bool, type(None), bytes)
# Prism 5.14.2 reports violations in an `sl-violations` header, with the property path, and
# crashes (the whole process) when a property name there is not valid in a header (outside
# Latin-1, or a control character). Valid bodies produce no violations, so only invalid ones
# are limited to such names.
_HEADER_SAFE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")


def _header_safe_keys(body: Any) -> bool:
    if isinstance(body, dict):
        return all(
            _HEADER_SAFE.fullmatch(key) and _header_safe_keys(value) for key, value in body.items()
        )
    if isinstance(body, list):
        return all(_header_safe_keys(item) for item in body)
    return True


def _sendable(body: Any) -> bool:
    return isinstance(body, JSON_TYPES) and _header_safe_keys(body)


def _body_of(case: Any) -> Any:
    return case.body


def _encoded(body: Any) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


NEGATIVE_BODIES: st.SearchStrategy[Any] = (
    schemathesis.openapi.from_dict(copy.deepcopy(pinned()))[PATH]["POST"]
    .as_strategy(generation_mode=GenerationMode.NEGATIVE)
    .map(_body_of)
    .filter(_sendable)
)
HAND_PICKED_INVALID: list[Any] = [
    {},
    {"inputs": {}},
    {"inputs": [{"properties": {}}]},
    {"inputs": [{"id": "a"}]},
    {"inputs": [{"id": 1, "properties": {}}]},
    {"inputs": [{"id": "a", "properties": {"hs_timestamp": 1700000000000}}]},
    {"inputs": [{"id": "a", "properties": {"hs_postal_mail_body": None}}]},
    {"inputs": [{"id": "a", "properties": {}, "idProperty": 5}]},
    [],
    b'{"inputs": [',
]

FAKE = FakeHubSpot(FakeConfig(rate_limit=(10**9, 10.0), daily_limit=None))


async def _fake_answer(body: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=FAKE)
    async with httpx.AsyncClient(transport=transport, base_url="http://fake") as fake:
        return await fake.post(PATH, content=_encoded(body), headers=AUTH)


def _fake_says_schema_invalid(body: Any) -> bool:
    """The fake's verdict: a 400 whose message says the JSON breaks the schema (not a refusal
    under HubSpot's rules beyond the schema, which Prism cannot know)."""
    response = asyncio.run(_fake_answer(body))
    return response.status_code == 400 and response.json()["message"].startswith(
        "Invalid input JSON"
    )


def _prism_says_schema_invalid(prism: PrismServer, body: Any) -> bool:
    """Prism's verdict: 422 for a body that breaks the schema, 400 for one that is not JSON."""
    response = httpx.post(prism.base_url + PATH, content=_encoded(body), headers=AUTH)
    assert response.status_code in (200, 400, 422), response.text
    return response.status_code != 200


@pytest.mark.parametrize("body", HAND_PICKED_INVALID)
def test_deliberately_invalid_bodies_are_rejected_by_both(prism: PrismServer, body: Any) -> None:
    assert _prism_says_schema_invalid(prism, body)
    assert _fake_says_schema_invalid(body)


@settings()
@given(body=st.one_of(documents(REQUEST_SCHEMA), NEGATIVE_BODIES))
def test_prism_and_the_fake_agree_on_what_breaks_the_schema(prism: PrismServer, body: Any) -> None:
    assert _prism_says_schema_invalid(prism, body) == _fake_says_schema_invalid(body)


def test_prism_is_stopped_when_its_block_ends(prism_spec: Path) -> None:
    with running_prism(prism_spec, prism_spec.with_name("second.log")) as second:
        assert _listening(second.port)
    assert second.process.returncode is not None
    assert not _listening(second.port)
