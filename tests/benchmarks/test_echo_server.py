"""The benchmarks' local server: valid answers any client can read, and stopped when done."""

from __future__ import annotations

import httpx
from hubspot_postal_mail_client import AuthenticatedClient
from hubspot_postal_mail_client.api.batch import batch_upsert
from hubspot_postal_mail_client.models import (
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchResponseSimplePublicUpsertObject,
)

from benchmarks.client_cost import TOKEN
from benchmarks.echo_server import running_echo_server
from benchmarks.records import ID_PROPERTY, api_inputs, batches, records
from hubspot_postal_mail import UPSERT_PATH, RateLimit, upsert_all


def test_answers_each_input_and_is_stopped_afterwards() -> None:
    batch = batches(1)[0]
    body = BatchInputSimplePublicObjectBatchInputUpsert.from_dict(api_inputs(batch))
    with running_echo_server() as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        assert server.process.poll() is None
        with AuthenticatedClient(base_url=server.base_url, token=TOKEN) as client:
            response = batch_upsert.sync_detailed(client=client, body=body)
    assert server.process.poll() is not None
    assert response.status_code == 200
    parsed = response.parsed
    assert isinstance(parsed, BatchResponseSimplePublicUpsertObject)
    sent = {rec[ID_PROPERTY]: rec for rec in batch}
    echoed = {r.properties[ID_PROPERTY]: r.properties.additional_properties for r in parsed.results}
    assert echoed.keys() == sent.keys()
    for key, rec in sent.items():
        assert {k: echoed[key][k] for k in rec} == rec


def test_a_body_that_is_not_a_batch_gets_a_400() -> None:
    with running_echo_server() as server, httpx.Client(base_url=server.base_url) as client:
        response = client.post(UPSERT_PATH, content=b"{not json")
        second = client.post(UPSERT_PATH, json={"inputs": [{"id": "x"}]})
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"
    assert second.status_code == 400


def test_upsert_all_maps_every_answer_back_to_its_record() -> None:
    with running_echo_server() as server:
        report = upsert_all(
            records(250),
            id_property=ID_PROPERTY,
            token=TOKEN,
            base_url=server.base_url,
            rate_limit=RateLimit(1000, 1.0),
        )
    assert (report.created, report.failed, report.requests) == (250, 0, 3)
