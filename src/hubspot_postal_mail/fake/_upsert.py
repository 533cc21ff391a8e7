"""The batch upsert itself: HubSpot's checks in HubSpot's order, then the write.

Request-wide problems (schema, size, idProperty, duplicate ids) fail the whole request.
Per-input problems give a partial answer (207) only when every input carries its own
``objectWriteTraceId`` to point back at; otherwise the whole request fails and nothing is
written.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jsonschema.protocols import Validator

from hubspot_postal_mail.fake import _bodies as bodies
from hubspot_postal_mail.fake._config import READ_ONLY_PROPERTIES, FakeConfig
from hubspot_postal_mail.fake._store import RecordStore, StoredRecord, Write, timestamp

# Without idProperty HubSpot reads `id` as the record id, which is not unique-valued for upsert.
RECORD_ID_PROPERTY = "hs_object_id"
_MAX_MESSAGE = 300


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bodies.Body


@dataclass(frozen=True, slots=True)
class _Input:
    id: str
    id_property: str
    properties: Mapping[str, str]
    trace_id: str | None


class Upserter:
    """Applies one request body to the store, answering as HubSpot would."""

    def __init__(
        self,
        config: FakeConfig,
        store: RecordStore,
        request_validator: Validator,
        *,
        request_is_valid: Callable[[Any], bool],
        now: Callable[[], datetime],
        shuffle: random.Random,
    ) -> None:
        self._config = config
        self._store = store
        self._validator = request_validator
        self._is_valid = request_is_valid
        self._now = now
        self._shuffle = shuffle

    def __call__(self, payload: Any) -> Answer:
        started = self._now()
        refusal = self._check_request(payload)
        if refusal is not None:
            return Answer(400, refusal)
        inputs = [
            _Input(
                id=item["id"],
                id_property=item.get("idProperty") or RECORD_ID_PROPERTY,
                properties=item["properties"],
                trace_id=item.get("objectWriteTraceId"),
            )
            for item in payload["inputs"]
        ]
        refusal = self._check_ids(inputs)
        if refusal is not None:
            return Answer(400, refusal)
        failures = self._check_inputs(inputs)
        trace_ids = [item.trace_id for item in inputs]
        partial = None not in trace_ids and len(set(trace_ids)) == len(trace_ids)
        if failures and not partial:
            return Answer(400, bodies.invalid_inputs(list(failures.values())))
        writes = [
            (item, Write(item.id_property, item.id, item.properties))
            for index, item in enumerate(inputs)
            if index not in failures
        ]
        stored = self._store.upsert([write for _, write in writes], self._now())
        results = [
            _result(record, created, item.trace_id)
            for (item, _), (record, created) in zip(writes, stored, strict=True)
        ]
        if self._config.shuffle_results:
            self._shuffle.shuffle(results)  # HubSpot does not keep input order
        body: bodies.Body = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": timestamp(started),
            "completedAt": timestamp(self._now()),
        }
        if not failures:
            return Answer(200, body)
        body["errors"] = [bodies.standard_error(f) for f in failures.values()]
        body["numErrors"] = len(failures)
        return Answer(self._config.partial_status, body)

    def _check_request(self, payload: Any) -> bodies.Body | None:
        # The fast check answers almost every request; the detailed one words the refusals.
        problems = [] if self._is_valid(payload) else list(self._validator.iter_errors(payload))
        if problems:
            details = [
                {"message": _shorten(e.message), "in": "/".join(str(p) for p in e.absolute_path)}
                for e in problems
            ]
            return bodies.malformed_json(details[0]["message"]) | {"errors": details}
        count = len(payload["inputs"])
        if count > self._config.max_inputs:
            return bodies.too_many_inputs(count, self._config.max_inputs)
        return None

    def _check_ids(self, inputs: Sequence[_Input]) -> bodies.Body | None:
        for item in inputs:
            if item.id_property not in self._config.unique_properties:
                return bodies.non_unique_id_property(item.id_property)
        counts = Counter((item.id_property, item.id) for item in inputs)
        duplicates = list(dict.fromkeys(key[1] for key, n in counts.items() if n > 1))
        return bodies.duplicate_ids(duplicates) if duplicates else None

    def _check_inputs(self, inputs: Sequence[_Input]) -> dict[int, bodies.InputFailure]:
        """Problems by input position; unique values claimed earlier in the batch count too."""
        known = self._config.known_properties
        unique = set(self._config.unique_properties)
        claims: dict[tuple[str, str], str] = {}
        failures: dict[int, bodies.InputFailure] = {}
        for index, item in enumerate(inputs):
            problems: list[bodies.Problem] = []
            for name in item.properties:
                if name in READ_ONLY_PROPERTIES:
                    problems.append(bodies.read_only_property(name))
                elif name not in known:
                    problems.append(bodies.unknown_property(name))
            key = (item.id_property, item.id)
            target = claims.get(key) or self._store.owner(*key) or f"new {key}"
            taken: list[tuple[str, str]] = []
            for name, value in item.properties.items():
                if name in unique and name != item.id_property:
                    owner = claims.get((name, value)) or self._store.owner(name, value)
                    if owner is not None and owner != target:
                        holder = f"ID {owner}" if owner.isdigit() else "an earlier input"
                        problems.append(bodies.unique_value_taken(name, value, holder))
                    taken.append((name, value))
            if problems:
                failures[index] = bodies.InputFailure(item.id, item.trace_id, tuple(problems))
                continue
            for claim in [key, *taken]:
                claims[claim] = target
        return failures


def _result(record: StoredRecord, created: bool, trace_id: str | None) -> bodies.Body:
    result: bodies.Body = {
        "id": record.id,
        "properties": dict(record.properties),
        "createdAt": timestamp(record.created_at),
        "updatedAt": timestamp(record.updated_at),
        "archived": False,
        "new": created,
    }
    if trace_id is not None:
        result["objectWriteTraceId"] = trace_id
    return result


def _shorten(message: str) -> str:
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 3] + "..."
