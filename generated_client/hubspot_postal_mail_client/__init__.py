"""A client library for accessing HubSpot postal mail batch upsert"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
