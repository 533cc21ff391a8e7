"""The pinned OpenAPI document, as shipped inside the generated client package.

Reading the pin from the installed client (not from ``openapi/``) means the fake server and
the runtime check against exactly the contract the client was generated from, in a checkout
and in an installed wheel alike.
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:  # the validators are the fake's and the tests' (extra [fake]), not the core's
    from jsonschema.protocols import Validator
    from referencing import Registry

SPEC_RESOURCE = "postal_mail.openapi.yaml"
# The base URI the document is registered under, so "#/components/..." refs resolve inside it.
_DOCUMENT_URI = "urn:hubspot-postal-mail:pinned-spec"


@functools.cache
def _load() -> Mapping[str, Any]:
    text = (
        importlib.resources.files("hubspot_postal_mail_client").joinpath(SPEC_RESOURCE).read_text()
    )
    document = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader
    if not isinstance(document, dict):
        raise RuntimeError(f"{SPEC_RESOURCE}: expected a mapping at the top level")
    return document


def _upsert_path(document: Mapping[str, Any]) -> str:
    """The one POST path of the pin: whatever version HubSpot's path carries, it is read here."""
    paths = [path for path, item in document.get("paths", {}).items() if "post" in item]
    if len(paths) != 1:
        raise RuntimeError(f"{SPEC_RESOURCE}: expected exactly one POST operation, got {paths}")
    return str(paths[0])


# The operation's path, as the pin has it: the one place the runtime, the fake, the CLI, the
# tests and the benchmarks take it from (a version move is a pin update, nothing else).
UPSERT_PATH = _upsert_path(_load())


def upsert_operation() -> Mapping[str, Any]:
    """The batch upsert operation object of the pin."""
    operation: Mapping[str, Any] = _load()["paths"][UPSERT_PATH]["post"]
    return operation


def required_scopes() -> frozenset[str]:
    """OAuth scopes the pin requires for the upsert (any one security requirement's set)."""
    scopes: set[str] = set()
    for requirement in upsert_operation().get("security") or []:
        for names in requirement.values():
            scopes.update(names)
    return frozenset(scopes)


@functools.cache
def _registry() -> Registry[Any]:
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    resource: Resource[Any] = DRAFT4.create_resource(dict(_load()))
    registry: Registry[Any] = Registry().with_resource(_DOCUMENT_URI, resource)
    return registry


def validator(pointer: str, *, check_formats: bool = False) -> Validator:
    """A JSON Schema validator for the schema at ``pointer`` (e.g. ``#/components/schemas/X``).

    OpenAPI 3.0 schema objects are a JSON Schema draft-4/5 dialect, so draft 4 rules apply;
    ``$ref``s resolve within the pinned document.
    """
    from jsonschema import Draft4Validator, FormatChecker

    if not pointer.startswith("#/"):
        raise ValueError(f"expected a local JSON pointer like '#/components/...', got {pointer!r}")
    schema = {"$ref": _DOCUMENT_URI + pointer}
    # Every known format (uuid, date-time), not only draft 4's short list.
    format_checker = FormatChecker() if check_formats else None
    return Draft4Validator(schema, registry=_registry(), format_checker=format_checker)


def request_validator() -> Validator:
    """Validator for the upsert's request body, as the pin declares it."""
    ref = upsert_operation()["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return validator(str(ref))


def request_is_valid() -> Callable[[Any], bool]:
    """A fast yes/no check of a request body against the pin (jsonschema-rs, ~400x faster
    than ``request_validator``), for hot paths that only need details when the answer is no."""
    import jsonschema_rs

    ref = upsert_operation()["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = {"$ref": ref, "components": _load()["components"]}
    is_valid: Callable[[Any], bool] = jsonschema_rs.Draft4Validator(schema).is_valid
    return is_valid


def response_validator(status_code: int, *, check_formats: bool = True) -> Validator:
    """Validator for a response body with this status, per the pin's responses (or ``default``)."""
    responses: Mapping[str, Any] = upsert_operation()["responses"]
    response = responses.get(str(status_code)) or responses["default"]
    if "$ref" in response:
        name = str(response["$ref"]).rsplit("/", 1)[-1]
        response = _load()["components"]["responses"][name]
    (media,) = response["content"].values()
    return validator(str(media["schema"]["$ref"]), check_formats=check_formats)
