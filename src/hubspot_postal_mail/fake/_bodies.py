"""Response bodies shaped as HubSpot sends them, and as the pinned spec declares them.

Where HubSpot's real body breaks the pin (a 429 has no ``category``), the fake adds what the
pin requires and keeps HubSpot's own fields too, so both a strict and a real-world-tolerant
client see what they expect.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hubspot_postal_mail.fake._config import OBJECT_TYPE_ID

Body = dict[str, Any]
SCOPES_LINK = "https://developers.hubspot.com/scopes"


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason an input cannot be written: an ``ErrorDetail`` plus its category."""

    message: str
    code: str
    category: str = "VALIDATION_ERROR"
    context: Mapping[str, Sequence[str]] = field(default_factory=dict)
    # Set for HubSpot's per-property validation failures ("Property values were not valid").
    property_name: str | None = None

    def detail(self, **more_context: Sequence[str]) -> Body:
        context = {key: list(values) for key, values in {**self.context, **more_context}.items()}
        return {"message": self.message, "code": self.code, "context": context}


@dataclass(frozen=True, slots=True)
class InputFailure:
    """An input that cannot be written, with every problem found in it."""

    input_id: str
    trace_id: str | None
    problems: tuple[Problem, ...]

    @property
    def category(self) -> str:
        return self.problems[0].category

    @property
    def message(self) -> str:
        if all(p.property_name is not None for p in self.problems):
            summary = [
                {"isValid": False, "message": p.message, "error": p.code, "name": p.property_name}
                for p in self.problems
            ]
            return f"Property values were not valid: {json.dumps(summary)}"
        return "; ".join(p.message for p in self.problems)


def error(
    message: str,
    category: str,
    *,
    errors: Sequence[Body] = (),
    context: Mapping[str, Sequence[str]] | None = None,
    links: Mapping[str, str] | None = None,
    **extra: Any,
) -> Body:
    """An ``Error`` body: HubSpot's whole-request failure."""
    body: Body = {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
    }
    if errors:
        body["errors"] = list(errors)
    if context:
        body["context"] = {key: list(values) for key, values in context.items()}
    if links:
        body["links"] = dict(links)
    body.update(extra)
    return body


def missing_credentials() -> Body:
    return error(
        "Authentication credentials not found. This API supports OAuth 2.0 authentication and "
        "you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
        "INVALID_AUTHENTICATION",
    )


def invalid_token() -> Body:
    return error(
        "Authentication credentials not found. The access token supplied is not valid for any "
        "app or account.",
        "INVALID_AUTHENTICATION",
    )


def expired_token() -> Body:
    return error(
        "The OAuth token used to make this call expired. Refresh the token and try again.",
        "EXPIRED_AUTHENTICATION",
    )


def missing_scopes(required: Sequence[str]) -> Body:
    return error(
        "This app hasn't been granted all required scopes to make this call. "
        f"Read more about required scopes here: {SCOPES_LINK}.",
        "MISSING_SCOPES",
        errors=[
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": sorted(required)},
            }
        ],
        links={"scopes": SCOPES_LINK},
    )


def rate_limited(policy: str, *, pin: bool = True) -> Body:
    """A 429: HubSpot's ``errorType``/``policyName``; ``pin`` adds the ``category`` the pin
    requires and HubSpot leaves out."""
    body = error(
        f"You have reached your {policy.lower()} limit.",
        "RATE_LIMITS",
        errorType="RATE_LIMIT",
        policyName=policy,
    )
    return body if pin else _without_category(body)


def _without_category(body: Body) -> Body:
    """HubSpot's real body where it omits the ``category`` the pin marks required."""
    return {key: value for key, value in body.items() if key != "category"}


def validation(
    message: str,
    *,
    errors: Sequence[Body] = (),
    context: Mapping[str, Sequence[str]] | None = None,
) -> Body:
    return error(message, "VALIDATION_ERROR", errors=errors, context=context)


def unsupported_media_type(media_type: str) -> Body:
    """The pin accepts only application/json request bodies."""
    return validation(
        f"Unsupported content type {media_type or '(none)'}: send application/json",
        context={"contentType": [media_type]},
    )


def malformed_json(reason: str, *, pin: bool = True) -> Body:
    """Also words schema failures; HubSpot's answer to unparsable JSON has no ``category``."""
    body = validation(f"Invalid input JSON: {reason}")
    return body if pin else _without_category(body)


def too_many_inputs(count: int, limit: int) -> Body:
    return validation(
        f"Batch input contains {count} inputs, more than the limit of {limit}.",
        context={"limit": [str(limit)], "size": [str(count)]},
    )


def duplicate_ids(ids: Sequence[str]) -> Body:
    return validation(
        f"Duplicate IDs found in batch input: [{', '.join(ids)}]. IDs must be unique",
        context={"ids": list(ids)},
    )


def non_unique_id_property(name: str) -> Body:
    return validation(
        f"Unable to perform update/upsert by non-unique {OBJECT_TYPE_ID} property {name}",
        context={"idProperty": [name]},
    )


def invalid_inputs(failures: Sequence[InputFailure]) -> Body:
    """The whole request fails over its bad inputs (not all carry a trace id)."""
    return error(
        "; ".join(f.message for f in failures),
        failures[0].category,
        errors=[p.detail(id=[f.input_id]) for f in failures for p in f.problems],
    )


def unknown_property(name: str) -> Problem:
    return Problem(
        f'Property "{name}" does not exist',
        "PROPERTY_DOESNT_EXIST",
        context={"propertyName": [name]},
        property_name=name,
    )


def read_only_property(name: str) -> Problem:
    return Problem(
        f'"{name}" is a read only property; its value cannot be set.',
        "READ_ONLY_VALUE",
        context={"propertyName": [name]},
        property_name=name,
    )


def unique_value_taken(name: str, value: str, holder: str | None) -> Problem:
    """Another record (``holder``, an object id) holds this unique value; None: an earlier
    input of the same batch claims it for a record it creates. Worded like HubSpot's
    conflicts, which name the existing record rather than the input."""
    if holder is None:
        message = f"A postal mail with {name}={value} is created by another input of this batch."
        context = {"propertyName": [name]}
    else:
        message = f"A postal mail with {name}={value} already exists. Existing ID: {holder}"
        context = {"propertyName": [name], "existingId": [holder]}
    return Problem(message, "CONFLICT", category="CONFLICT", context=context)


def conflict(problem: Problem) -> Body:
    """A 409: the whole batch refused over one conflicting input, which it does not name."""
    return error(problem.message, "CONFLICT")


def standard_error(failure: InputFailure) -> Body:
    """One failed input of a 207, pointing back at it through ``context.objectWriteTraceId``."""
    context = {"objectWriteTraceId": [failure.trace_id]} if failure.trace_id is not None else {}
    return {
        "status": "error",
        "category": failure.category,
        "message": failure.message,
        "context": context,
        "errors": [p.detail() for p in failure.problems],
        "links": {},
    }


def server_error(status: int) -> Body:
    return error(f"Injected server error {status} (fake HubSpot fault injection)", "INTERNAL_ERROR")


def not_found(path: str) -> Body:
    return error(f"No route for {path}", "OBJECT_NOT_FOUND")


def method_not_allowed(method: str) -> Body:
    return error(f"Method {method} is not allowed here", "VALIDATION_ERROR")
