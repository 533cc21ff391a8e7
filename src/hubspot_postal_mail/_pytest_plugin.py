"""pytest fixtures that hand a running fake HubSpot to any test suite.

Registered through the ``pytest11`` entry point, so installing the package is enough::

    def test_sync(hubspot_fake):
        my_sync(base_url=hubspot_fake.base_url, token=hubspot_fake.token)
        assert len(hubspot_fake.app.records()) == 3

    @pytest.mark.hubspot_fake(rate_limit=(2, 1.0), unique_properties=("letter_ref",))
    def test_throttled(hubspot_fake): ...

    def test_two_accounts(hubspot_fake_factory):
        a, b = hubspot_fake_factory(), hubspot_fake_factory(daily_limit=10)

Each fake listens on 127.0.0.1 on a free port and is stopped when the test ends. Server
modules are imported only when a fixture is used, to keep pytest's start-up fast.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from hubspot_postal_mail.fake._config import FakeConfig
    from hubspot_postal_mail.fake._server import RunningFake

MARKER = "hubspot_fake"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(**options): FakeConfig options for the hubspot_fake fixture"
    )


@pytest.fixture
def hubspot_fake_factory() -> Iterator[Callable[..., RunningFake]]:
    """Start fakes on demand: ``factory(config)`` or ``factory(**FakeConfig options)``."""
    from hubspot_postal_mail.fake._app import FakeHubSpot
    from hubspot_postal_mail.fake._config import FakeConfig
    from hubspot_postal_mail.fake._server import serve_in_thread

    with contextlib.ExitStack() as running:

        def start(config: FakeConfig | None = None, **options: Any) -> RunningFake:
            if config is not None and options:
                raise TypeError("pass a FakeConfig or keyword options, not both")
            app = FakeHubSpot(config or FakeConfig(**options))
            return running.enter_context(serve_in_thread(app))

        yield start


@pytest.fixture
def hubspot_fake(
    request: pytest.FixtureRequest, hubspot_fake_factory: Callable[..., RunningFake]
) -> RunningFake:
    """A running fake HubSpot, configured by ``@pytest.mark.hubspot_fake(**options)``."""
    marker = request.node.get_closest_marker(MARKER)
    if marker is not None and marker.args:
        return hubspot_fake_factory(*marker.args)
    return hubspot_fake_factory(**(marker.kwargs if marker is not None else {}))
