"""The batch upsert itself: HubSpot's checks in HubSpot's order, then the write.

Request-wide problems (schema, size, idProperty, duplicate ids) fail the whole request.
Invalid inputs (unknown or read-only properties) give a partial answer (207) only when every
input carries its own ``objectWriteTraceId`` to point back at; otherwise the whole request
fails with 400 and nothing is written. Then the write: an input taking a unique value another
record holds fails the whole batch with 409 CONFLICT, as at HubSpot (``conflict_mode="batch"``),
or only itself (``"per-input"``: listed in a 207, or a 409 naming the inputs when they carry no
trace ids).
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jsonschema.protocols import Validator

from hubspot_postal_mail.fake import _bodies as bodies
from hubspot_postal_mail.fake._config import READ_ONLY_PROPERTIES, FakeConfig
from hubspot_postal_mail.fake._store import Conflict, RecordStore, StoredRecord, Write, timestamp

# Object ids of the archived records that `conflict_share` ids conflict with start here.
ARCHIVED_FIRST_ID = 80_000_000_000
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
        invalid = self._check_properties(inputs)
        trace_ids = [item.trace_id for item in inputs]
        partial = None not in trace_ids and len(set(trace_ids)) == len(trace_ids)
        if invalid and not partial:
            return Answer(400, bodies.invalid_inputs(list(invalid.values())))
        conflicting = self._check_conflicts(inputs, invalid)
        if conflicting and self._config.conflict_mode == "batch":
            first = next(iter(conflicting.values()))
            return Answer(409, bodies.conflict(first.problems[0]))
        if conflicting and not partial:
            return Answer(409, bodies.invalid_inputs(list(conflicting.values())))
        failures = dict(sorted((invalid | conflicting).items()))
        writes = [
            (item, _write(item)) for index, item in enumerate(inputs) if index not in failures
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

    def _check_properties(self, inputs: Sequence[_Input]) -> dict[int, bodies.InputFailure]:
        """Inputs (by position) writing properties that do not exist or are HubSpot's own."""
        known = self._config.known_properties
        failures: dict[int, bodies.InputFailure] = {}
        for index, item in enumerate(inputs):
            problems = [
                bodies.read_only_property(name)
                if name in READ_ONLY_PROPERTIES
                else bodies.unknown_property(name)
                for name in item.properties
                if name in READ_ONLY_PROPERTIES or name not in known
            ]
            if problems:
                failures[index] = bodies.InputFailure(item.id, item.trace_id, tuple(problems))
        return failures

    def _check_conflicts(
        self, inputs: Sequence[_Input], invalid: Mapping[int, bodies.InputFailure]
    ) -> dict[int, bodies.InputFailure]:
        """Valid inputs (by position) that would take a unique value from another record,
        or from an earlier input of the batch."""
        valid = [index for index in range(len(inputs)) if index not in invalid]
        writes = [_write(inputs[index]) for index in valid]
        found = self._store.conflicts(writes)
        for n, index in enumerate(valid):
            archived = self._archived_holder(inputs[index])
            if archived is not None and n not in found:
                found[n] = Conflict(inputs[index].id_property, inputs[index].id, archived)
        return {
            valid[n]: bodies.InputFailure(
                inputs[valid[n]].id,
                inputs[valid[n]].trace_id,
                (bodies.unique_value_taken(conflict.name, conflict.value, conflict.holder),),
            )
            for n, conflict in sorted(found.items())
        }

    def _archived_holder(self, item: _Input) -> str | None:
        """For the ``conflict_share`` of ids, the id of an archived record holding its value."""
        if not self._config.conflict_share:
            return None
        key = f"{self._config.seed}:{item.id_property}:{item.id}".encode()
        digest = hashlib.sha256(key).digest()
        if int.from_bytes(digest[:8]) / 2**64 >= self._config.conflict_share:
            return None
        return str(ARCHIVED_FIRST_ID + int.from_bytes(digest[8:12]))


def _write(item: _Input) -> Write:
    return Write(item.id_property, item.id, item.properties)


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
