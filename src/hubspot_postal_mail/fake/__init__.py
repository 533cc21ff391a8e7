"""A fake HubSpot for the postal-mail batch upsert: an ASGI app that behaves, refuses and
fails the way HubSpot does, for laptops, CI and users' own test suites.

    from hubspot_postal_mail.fake import FakeConfig, FakeHubSpot
    app = FakeHubSpot(FakeConfig(rate_limit=(5, 1.0)))   # serve with uvicorn, or
    httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://fake")

The pytest plugin (fixtures ``hubspot_fake`` and ``hubspot_fake_factory``) is registered
when the package is installed; ``postal-mail fake-server`` runs it from the command line.
"""

try:
    import starlette  # noqa: F401
    import uvicorn  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on what is installed
    raise ImportError(
        "the fake HubSpot needs the [fake] extra: pip install 'hubspot-postal-mail[fake]'"
    ) from exc

from hubspot_postal_mail._exceptions import ConfigError
from hubspot_postal_mail.fake._app import UPSERT_PATHS, Call, FakeHubSpot
from hubspot_postal_mail.fake._config import FakeConfig
from hubspot_postal_mail.fake._faults import ConnectionDropped
from hubspot_postal_mail.fake._server import RunningFake, serve_in_thread
from hubspot_postal_mail.fake._store import StoredRecord

__all__ = [
    "UPSERT_PATHS",
    "Call",
    "ConfigError",
    "ConnectionDropped",
    "FakeConfig",
    "FakeHubSpot",
    "RunningFake",
    "StoredRecord",
    "serve_in_thread",
]
