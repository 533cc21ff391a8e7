"""The fake over real HTTP (uvicorn in a thread): upserts, dropped connections, the control
routes, and the pytest plugin's fixtures."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

import httpx
import pytest

from hubspot_postal_mail.fake import FakeConfig, FakeHubSpot, RunningFake, serve_in_thread
from tests.fake.conftest import AUTH, PATH, assert_conforms, inputs


def _post(running: RunningFake, body: object) -> httpx.Response:
    return httpx.post(running.base_url + PATH, json=body, headers=AUTH, timeout=5)


def test_an_upsert_over_http_creates_then_updates() -> None:
    with serve_in_thread(FakeHubSpot()) as running:
        created = _post(running, inputs("a"))
        updated = _post(running, inputs("a"))
    for response in (created, updated):
        assert response.status_code == 200
        assert_conforms(response)
    assert created.json()["results"][0]["new"] is True
    assert updated.json()["results"][0]["new"] is False


def test_a_dropped_connection_is_a_protocol_error_not_a_500() -> None:
    # The seeded sequence drops some requests and answers the others normally.
    with serve_in_thread(FakeHubSpot(FakeConfig(drop_rate=0.5, seed=1))) as running:
        outcomes: list[int | str] = []
        with httpx.Client(base_url=running.base_url, headers=AUTH, timeout=5) as client:
            for n in range(12):
                try:
                    outcomes.append(client.post(PATH, json=inputs(f"r{n}")).status_code)
                except httpx.RemoteProtocolError:
                    outcomes.append("dropped")
        calls = running.app.calls()
    assert "dropped" in outcomes
    assert 200 in outcomes
    assert set(outcomes) == {"dropped", 200}
    assert [c.status or "dropped" for c in calls] == outcomes
    written = {r.properties["external_id"] for r in running.app.records()}
    assert written == {f"r{n}" for n, o in enumerate(outcomes) if o == 200}


def test_a_drop_after_write_over_http_writes_then_closes() -> None:
    config = FakeConfig(drop_rate=1.0, drop_after_write=True)
    with serve_in_thread(FakeHubSpot(config)) as running:
        with pytest.raises(httpx.RemoteProtocolError):
            _post(running, inputs("a"))
        # The connection is gone, the record is not: a retry would find it and update.
        assert running.app.find("external_id", "a") is not None
        assert [c.status for c in running.app.calls()] == [None]


def test_control_routes_over_http() -> None:
    with serve_in_thread(FakeHubSpot()) as running:
        _post(running, inputs("a"))
        listed = httpx.get(running.base_url + "/_fake/records").json()["results"]
        httpx.delete(running.base_url + "/_fake/records")
        assert running.app.records() == []
    assert [r["properties"]["external_id"] for r in listed] == ["a"]


def test_the_server_stops_when_the_block_ends() -> None:
    before = {t.name for t in threading.enumerate()}
    with serve_in_thread(FakeHubSpot()) as running:
        assert "hubspot-fake" in {t.name for t in threading.enumerate()}
        port = running.port
    assert "hubspot-fake" not in {t.name for t in threading.enumerate()} - before
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
        pass


def test_only_loopback_addresses_are_served_in_process() -> None:
    with (
        pytest.raises(ValueError, match="loopback"),
        serve_in_thread(FakeHubSpot(), host="0.0.0.0"),  # noqa: S104 - must be refused
    ):
        pass


def test_the_plugin_fixture_hands_over_a_running_fake(hubspot_fake: RunningFake) -> None:
    assert hubspot_fake.base_url.startswith("http://127.0.0.1:")
    response = httpx.post(
        hubspot_fake.base_url + PATH,
        json=inputs("a"),
        headers={"Authorization": f"Bearer {hubspot_fake.token}"},
    )
    assert response.status_code == 200
    assert len(hubspot_fake.app.records()) == 1


@pytest.mark.hubspot_fake(rate_limit=(1, 60.0), unique_properties=("letter_ref",))
def test_the_plugin_marker_configures_the_fake(hubspot_fake: RunningFake) -> None:
    assert _post(hubspot_fake, inputs("a", id_property="letter_ref")).status_code == 200
    assert _post(hubspot_fake, inputs("b", id_property="letter_ref")).status_code == 429


@pytest.mark.hubspot_fake(latency_median_s=0.001, latency_sigma=0.5, conflict_mode="per-input")
def test_the_plugin_marker_sets_the_latency_model_and_conflict_mode(
    hubspot_fake: RunningFake,
) -> None:
    config = hubspot_fake.app.config
    assert (config.latency_median, config.latency_sigma) == (0.001, 0.5)
    assert config.conflict_mode == "per-input"
    assert _post(hubspot_fake, inputs("a")).status_code == 200


def test_the_plugin_factory_starts_independent_fakes(
    hubspot_fake_factory: Callable[..., RunningFake],
) -> None:
    first = hubspot_fake_factory()
    second = hubspot_fake_factory(FakeConfig(tokens={"only-this": None}))
    assert first.port != second.port
    assert second.token == "only-this"
    assert _post(first, inputs("a")).status_code == 200
    assert _post(second, inputs("a")).status_code == 401
    assert len(first.app.records()) == 1
    assert second.app.records() == []
