"""Bearer auth as HubSpot answers it: 401 INVALID_AUTHENTICATION / EXPIRED_AUTHENTICATION,
403 MISSING_SCOPES naming the scopes the pin requires."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hubspot_postal_mail.fake import FakeConfig
from tests.fake.conftest import TOKEN, Harness, inputs

SCOPE = "crm.objects.contacts.write"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer"},
        {"Authorization": f"Basic {TOKEN}"},
    ],
    ids=["no-header", "empty-token", "no-token", "not-bearer"],
)
async def test_requests_without_a_bearer_token_are_401(
    fake: Harness, headers: dict[str, str]
) -> None:
    response = await fake.upsert(inputs("a"), headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert body["category"] == "INVALID_AUTHENTICATION"
    assert body["status"] == "error"
    assert "X-HubSpot-RateLimit-Max" not in response.headers
    assert fake.app.records() == []


async def test_any_non_empty_token_works_when_none_are_configured(fake: Harness) -> None:
    for token in ("pat-na1-whatever", "oauth-access-token", "x"):
        response = await fake.upsert(inputs(token), headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
    assert len(fake.app.records()) == 3


async def test_the_bearer_scheme_is_case_insensitive(fake: Harness) -> None:
    response = await fake.upsert(inputs("a"), headers={"Authorization": f"bearer {TOKEN}"})
    assert response.status_code == 200


async def test_configured_tokens_are_the_only_ones_accepted(
    make_fake: Callable[..., Harness],
) -> None:
    fake = make_fake(tokens={TOKEN: None})
    assert (await fake.upsert(inputs("a"))).status_code == 200
    refused = await fake.upsert(inputs("b"), headers={"Authorization": "Bearer pat-na1-other"})
    assert refused.status_code == 401
    assert refused.json()["category"] == "INVALID_AUTHENTICATION"
    assert [r.properties["external_id"] for r in fake.app.records()] == ["a"]


async def test_a_token_without_the_write_scope_is_403_with_the_required_scopes(
    make_fake: Callable[..., Harness],
) -> None:
    fake = make_fake(tokens={TOKEN: frozenset({"crm.objects.contacts.read"})})
    response = await fake.upsert(inputs("a"))
    assert response.status_code == 403
    body = response.json()
    assert body["category"] == "MISSING_SCOPES"
    assert body["errors"][0]["context"] == {"requiredGranularScopes": [SCOPE]}
    assert fake.app.records() == []


async def test_a_token_with_the_write_scope_is_accepted(
    make_fake: Callable[..., Harness],
) -> None:
    fake = make_fake(tokens={TOKEN: frozenset({SCOPE, "crm.objects.contacts.read"})})
    assert (await fake.upsert(inputs("a"))).status_code == 200


async def test_an_expired_token_is_401_expired_authentication(
    make_fake: Callable[..., Harness],
) -> None:
    fake = make_fake(expired_tokens=frozenset({TOKEN}))
    response = await fake.upsert(inputs("a"))
    assert response.status_code == 401
    assert response.json()["category"] == "EXPIRED_AUTHENTICATION"


async def test_error_bodies_never_echo_the_token(make_fake: Callable[..., Harness]) -> None:
    fake = make_fake(tokens={"pat-na1-known": None})
    response = await fake.upsert(inputs("a"))
    assert TOKEN not in response.text


def test_the_configuration_repr_hides_tokens() -> None:
    config = FakeConfig(tokens={TOKEN: None}, expired_tokens=frozenset({"pat-na1-old"}))
    assert TOKEN not in repr(config)
    assert "pat-na1-old" not in repr(config)
