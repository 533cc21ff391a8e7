"""A client library for accessing HubSpot postal mail batch upsert"""

from ._pin import SPEC_SHA256 as __spec_sha256__
from .client import DEFAULT_TIMEOUT, AuthenticatedClient, Client

# The release of this client: its major, minor or patch part moves with each pin update by
# what changed in the contract (breaking, safe, prose only); see openapi/CHANGES.md.
__version__ = "0.1.0"

__all__ = (
    "DEFAULT_TIMEOUT",
    "AuthenticatedClient",
    "Client",
    "__spec_sha256__",
    "__version__",
)
