"""Small documents shaped like HubSpot's published spec, written by us for the tests.

They carry what the importer must drop (prose, examples, ``x-hubspot-*`` extensions, an
unrelated operation and schema) next to what it must keep, in the same places HubSpot puts them.
"""

from __future__ import annotations

import copy
from typing import Any

V3_PATH = "/crm/v3/objects/postal_mail/batch/upsert"
DATED_PATH = "/crm/objects/2026-03/postal_mail/batch/upsert"
TEMPLATED_PATH = "/crm/objects/2025-09/{objectType}/batch/upsert"
SCOPE = "crm.objects.contacts.write"


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json_body(schema: str) -> dict[str, Any]:
    return {"application/json": {"schema": ref(schema), "example": {"fixture": True}}}


def _upsert(path: str) -> dict[str, Any]:
    return {
        "tags": ["Batch"],
        "summary": "Fixture summary that must not survive",
        "description": "Fixture prose that must not survive.",
        "operationId": f"post-{path}_upsert",
        "parameters": [],
        "requestBody": {"required": True, "content": _json_body("BatchIn")},
        "responses": {
            "200": {"description": "all good", "content": _json_body("BatchOut")},
            "207": {"description": "mixed", "content": _json_body("BatchOutWithErrors")},
            "default": {"$ref": "#/components/responses/Error"},
        },
        "security": [{"oauth2": [SCOPE]}, {"private_apps": [SCOPE]}],
        "x-hubspot-rate-limit-exemptions": ["fixture"],
    }


def _results_schema(*, with_errors: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "status": {"type": "string", "enum": ["PENDING", "PROCESSING", "CANCELED", "COMPLETE"]},
        "results": {"type": "array", "items": ref("Record")},
        "completedAt": {"type": "string", "format": "date-time", "example": "2026-01-01"},
    }
    if with_errors:
        properties["errors"] = {"type": "array", "items": ref("Failure")}
        properties["numErrors"] = {"type": "integer", "format": "int32"}
    return {
        "type": "object",
        "description": "fixture words",
        "required": ["status", "results", "completedAt"],
        "properties": properties,
    }


def document(path: str = V3_PATH) -> dict[str, Any]:
    """A fresh upstream-shaped document whose batch upsert lives at ``path``."""
    return copy.deepcopy(
        {
            "openapi": "3.0.1",
            "info": {
                "title": "Fixture objects",
                "description": "Fixture description.",
                "version": "v3",
                "x-hubspot-product-tier-requirements": {"marketing": "FREE"},
            },
            "servers": [{"url": "https://api.example.test", "description": "fixture"}],
            "tags": [{"name": "Batch", "description": "fixture"}, {"name": "Basic"}],
            "paths": {
                path: {"post": _upsert(path)},
                "/crm/v3/objects/postal_mail/{postalMailId}": {
                    "get": {
                        "tags": ["Basic"],
                        "operationId": "get-one",
                        "parameters": [
                            {
                                "name": "postalMailId",
                                "in": "path",
                                "required": True,
                                "schema": {"type": "string"},
                            }
                        ],
                        "responses": {
                            "200": {"description": "one", "content": _json_body("Unrelated")}
                        },
                    }
                },
            },
            "components": {
                "schemas": {
                    "BatchIn": {
                        "type": "object",
                        "required": ["inputs"],
                        "properties": {"inputs": {"type": "array", "items": ref("Input")}},
                    },
                    "Input": {
                        "type": "object",
                        "required": ["id", "properties"],
                        "properties": {
                            "id": {"type": "string", "description": "fixture"},
                            "idProperty": {"type": "string"},
                            "properties": {
                                "type": "object",
                                "additionalProperties": {"type": "string"},
                            },
                        },
                    },
                    "BatchOut": _results_schema(with_errors=False),
                    "BatchOutWithErrors": _results_schema(with_errors=True),
                    "Record": {
                        "type": "object",
                        "required": ["id", "createdAt", "new"],
                        "properties": {
                            "id": {"type": "string"},
                            "createdAt": {"type": "string", "format": "date-time"},
                            "new": {"type": "boolean"},
                            "url": {"type": "string"},
                        },
                    },
                    "Failure": {
                        "type": "object",
                        "required": ["message", "status"],
                        "properties": {
                            "message": {"type": "string"},
                            "status": {"type": "string"},
                        },
                    },
                    "Error": {
                        "type": "object",
                        "required": ["message"],
                        "properties": {"message": {"type": "string"}},
                    },
                    "Unrelated": {"type": "object", "properties": {"x": {"type": "string"}}},
                },
                "responses": {
                    "Error": {
                        "description": "fixture error",
                        "content": {"*/*": {"schema": ref("Error")}},
                    }
                },
                "securitySchemes": {
                    "oauth2": {
                        "type": "oauth2",
                        "flows": {
                            "authorizationCode": {
                                "authorizationUrl": "https://auth.example.test/authorize",
                                "tokenUrl": "https://auth.example.test/token",
                                "scopes": {SCOPE: "fixture", "crm.other.read": "fixture"},
                            }
                        },
                    },
                    "private_apps": {"type": "apiKey", "in": "header", "name": "private-app"},
                },
            },
        }
    )


def operation(doc: dict[str, Any]) -> dict[str, Any]:
    """The batch-upsert operation of a fixture document, to mutate in place."""
    (path,) = [p for p in doc["paths"] if p.endswith("/batch/upsert")]
    op: dict[str, Any] = doc["paths"][path]["post"]
    return op


def schema(doc: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = doc["components"]["schemas"][name]
    return found
