"""The fake HubSpot against the pinned contract (no overlays), with schemathesis in-process.

- Every answer, to positive and negative generated requests, must fit the pin.
- The pin declares error bodies as ``*/*``: any content type passes schemathesis's content
  type check there, and it validates a body only when the body says it is JSON. HubSpot sends
  JSON, so this suite adds its own check: every answer is ``application/json`` and fits the
  pin's schema for its status, whatever schemathesis makes of ``*/*``.
- A schema-valid body may still be refused, because HubSpot has rules the pin cannot express
  (idProperty must be unique-valued, property names must exist, ids must not repeat). Such
  refusals must be those documented rules, never a claim that the body breaks the schema.
  Steered into those rules, schema-valid bodies must all be accepted.
- Stateful: a model of which ids exist predicts ``new`` on every upsert.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import schemathesis
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import positive_data_acceptance

from contract_tests.pinned import PATH, pinned
from hubspot_postal_mail import _spec as spec
from hubspot_postal_mail.fake import FakeConfig, FakeHubSpot
from hubspot_postal_mail.fake._config import DOCUMENTED_PROPERTIES

AUTH = {"Authorization": "Bearer pat-na1-00000000-contract-fake"}
# HubSpot's rules beyond the schema, as the fake words its refusals of schema-valid bodies.
SEMANTIC_REFUSALS = (
    "Unable to perform update/upsert by non-unique",
    "Duplicate IDs found in batch input",
    "Property values were not valid",
    "Batch input contains",
)
WRITABLE = sorted(DOCUMENTED_PROPERTIES)
Test = TypeVar("Test", bound=Callable[..., None])
# Limits high enough that a long CI run never meets them: this suite is about bodies.
UNLIMITED = FakeConfig(rate_limit=(10**9, 10.0), daily_limit=None)


def _schema(app: FakeHubSpot, *modes: GenerationMode) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_dict(copy.deepcopy(pinned()))
    schema.app = app
    schema.config.generation.update(modes=list(modes))
    return schema


def _cases(schema: schemathesis.BaseSchema) -> Callable[[Test], Test]:
    """``schema.parametrize()`` with the type schemathesis leaves out."""
    decorator: Callable[[Test], Test] = schema.parametrize()
    return decorator


def answers_fit_the_pin(
    ctx: schemathesis.CheckContext | None, response: schemathesis.Response, case: Case[Any] | None
) -> bool:
    """Own check, independent of how schemathesis reads ``*/*``: JSON that fits the pin."""
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/json"), f"not JSON: {content_type!r}"
    problems = [
        e.message
        for e in spec.response_validator(response.status_code).iter_errors(response.json())
    ]
    assert not problems, f"{response.status_code} body breaks the pin: {problems}"
    return True


def refusals_are_hubspots_rules(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: Case[Any]
) -> bool | None:
    """A schema-valid body refused with 400 must be refused for a documented HubSpot rule."""
    if case.meta is None or case.meta.generation.mode is not GenerationMode.POSITIVE:
        return None
    if response.status_code != 400:
        return None
    message = response.json().get("message", "")
    assert message.startswith(SEMANTIC_REFUSALS), f"schema-valid body refused: {message!r}"
    return True


RAW = _schema(FakeHubSpot(UNLIMITED), GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


@_cases(RAW)
@settings()
def test_every_answer_to_generated_requests_fits_the_pin(case: Case[Any]) -> None:
    response = case.call(headers=AUTH)
    case.validate_response(
        response,
        headers=AUTH,
        excluded_checks=[positive_data_acceptance],
        additional_checks=[answers_fit_the_pin, refusals_are_hubspots_rules],
    )


def _within_hubspots_rules(body: Any) -> Any:
    """Steer a schema-valid body into HubSpot's extra rules, keeping its generated values."""
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        return body
    steered = []
    for n, item in enumerate(body["inputs"][:100]):
        values = list(item["properties"].values())
        steered.append(
            {
                **item,
                "id": f"{n}:{item['id']}",  # unique within the batch
                "idProperty": "external_id",
                "properties": {WRITABLE[i % len(WRITABLE)]: v for i, v in enumerate(values)},
            }
        )
    return {**body, "inputs": steered}


VALID = _schema(FakeHubSpot(UNLIMITED), GenerationMode.POSITIVE)


@_cases(VALID)
@settings()
def test_bodies_within_hubspots_rules_are_all_accepted(case: Case[Any]) -> None:
    # Steered here rather than in a map_body hook: hooks do not reach every generation phase.
    steered: Any = _within_hubspots_rules(case.body)
    case.body = steered
    response = case.call_and_validate(headers=AUTH, additional_checks=[answers_fit_the_pin])
    assert response.status_code == 200
    body = response.json()
    sent = {item["id"] for item in steered["inputs"]}
    assert {r["properties"]["external_id"] for r in body["results"]} == sent


FAULTY = _schema(
    FakeHubSpot(FakeConfig(fault_rate=0.3, rate_limit=(3, 3600.0), seed=5)),
    GenerationMode.POSITIVE,
)


@_cases(FAULTY)
@settings()
def test_faults_and_rate_limits_fit_the_pin(case: Case[Any]) -> None:
    """5xx and 429 answers are part of the contract too (``default: Error``)."""
    response = case.call(headers=AUTH)
    case.validate_response(
        response,
        headers=AUTH,
        excluded_checks=[positive_data_acceptance, not_a_server_error],
        additional_checks=[answers_fit_the_pin],
    )


class UpsertTwice(RuleBasedStateMachine):
    """Upsert batches over ids from a small pool: ``new`` is true exactly for ids this run has
    not written before, and a record keeps its object id across updates.

    Bodies come from plain strategies here (schemathesis's are ~25 ms a draw); their shapes
    are the other tests' business, this one is about state.
    """

    def __init__(self) -> None:
        super().__init__()
        self.app = FakeHubSpot(UNLIMITED)
        self.loop = asyncio.new_event_loop()
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://fake", headers=AUTH
        )
        self.object_ids: dict[str, str] = {}

    @rule(
        ids=st.lists(st.sampled_from("abcdefgh"), unique=True, max_size=5),
        properties=st.dictionaries(st.sampled_from(WRITABLE), st.text(max_size=10), max_size=3),
    )
    def upsert(self, ids: list[str], properties: dict[str, str]) -> None:
        inputs = [{"id": i, "idProperty": "external_id", "properties": properties} for i in ids]
        response = self.loop.run_until_complete(self.client.post(PATH, json={"inputs": inputs}))
        assert response.status_code == 200
        answers_fit_the_pin(None, _as_schemathesis(response), None)
        for result in response.json()["results"]:
            external_id = result["properties"]["external_id"]
            assert result["new"] is (external_id not in self.object_ids)
            assert self.object_ids.setdefault(external_id, result["id"]) == result["id"]

    @invariant()
    def one_record_per_id(self) -> None:
        stored = {r.properties["external_id"]: r.id for r in self.app.records()}
        assert stored == self.object_ids

    def teardown(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


def _as_schemathesis(response: httpx.Response) -> schemathesis.Response:
    return schemathesis.Response.from_any(response)


TestUpsertTwice = UpsertTwice.TestCase
TestUpsertTwice.settings = settings(stateful_step_count=10)
