"""The generated client, used alone: finite default timeouts, its release and contract stamped.

These come from openapi/templates and scripts/generate.py (never from hand edits), so they hold
for every vendored copy too.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

import httpx
import hubspot_postal_mail_client as client_package
import pytest
from hubspot_postal_mail_client import AuthenticatedClient, Client

from scripts import paths


def _finite(timeout: httpx.Timeout) -> bool:
    parts = (timeout.connect, timeout.read, timeout.write, timeout.pool)
    return all(part is not None and 0 < part < 600 for part in parts)


def _plain() -> Client | AuthenticatedClient:
    return Client(base_url="https://api.example.test")


def _authenticated() -> Client | AuthenticatedClient:
    return AuthenticatedClient(base_url="https://api.example.test", token="pat-na1-not-real")


@pytest.mark.parametrize("make", [_plain, _authenticated])
async def test_a_client_built_without_a_timeout_has_a_finite_one(
    make: Callable[[], Client | AuthenticatedClient],
) -> None:
    made = make()
    assert _finite(made.get_httpx_client().timeout)
    assert _finite(made.get_async_httpx_client().timeout)
    await made.get_async_httpx_client().aclose()
    made.get_httpx_client().close()


def test_a_timeout_given_by_the_caller_still_wins() -> None:
    chosen = httpx.Timeout(3.0, connect=1.0)
    made = AuthenticatedClient(base_url="https://api.example.test", token="t", timeout=chosen)
    with made.get_httpx_client() as http:
        assert http.timeout == chosen


def test_the_version_is_the_generator_settings_release() -> None:
    config = paths.GENERATOR_CONFIG.read_text(encoding="utf-8")
    match = re.search(r"^package_version_override: *(\S+)$", config, re.MULTILINE)
    assert match is not None
    assert client_package.__version__ == match[1]
    pyproject = (paths.GENERATED / "pyproject.toml").read_text(encoding="utf-8")
    assert f'version = "{match[1]}"' in pyproject


def test_the_spec_sha256_is_the_pins() -> None:
    pin = hashlib.sha256(paths.PIN.read_bytes()).hexdigest()
    shipped = hashlib.sha256((paths.GENERATED / paths.SHIPPED_SPEC).read_bytes()).hexdigest()
    assert client_package.__spec_sha256__ == pin == shipped
