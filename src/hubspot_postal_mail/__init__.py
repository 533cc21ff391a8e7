"""Bulk upsert of postal-mail records into HubSpot, on top of the generated client."""

__version__ = "0.1.0"
