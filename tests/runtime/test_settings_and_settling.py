"""One settings value for every entry point; the transport's verdict is the only classification;
an unsettled record stays unfinished unless a later record with its id is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from hubspot_postal_mail import (
    ConfigError,
    Outcome,
    PostalMailError,
    RateLimit,
    RecordResult,
    RetryPolicy,
    UpsertSettings,
    upsert_all,
)
from hubspot_postal_mail import _sending as sending

from ._hub import MiniHub, server_error
from .conftest import BASE_URL, TOKEN, UPSERT_URL

FAST = RetryPolicy(max_attempts=2, initial_wait=0.001, max_wait=0.002)


def test_settings_take_the_forms_a_caller_has_and_keep_one() -> None:
    settings = UpsertSettings(id_property="external_id", token="pat-x", rate_limit="190/10")  # type: ignore[arg-type]
    assert settings.rate_limit == RateLimit(190, 10.0)
    assert "pat-x" not in repr(settings)
    assert UpsertSettings.of(settings, concurrency=3).concurrency == 3
    assert UpsertSettings.of(None, id_property="k") == UpsertSettings(id_property="k")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"id_property": ""}, "id_property is required"),
        ({"id_property": "k", "concurrency": 0}, "concurrency"),
        ({"id_property": "k", "batch_size": 101}, "batch_size"),
        ({"id_property": "k", "rate_limit": "fast"}, "N/SECONDS"),
        ({}, "id_property is required"),
    ],
)
def test_bad_settings_are_one_config_error_under_the_package_base(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        UpsertSettings.of(None, **options)
    assert isinstance(caught.value, PostalMailError)


def test_an_unknown_setting_names_itself() -> None:
    with pytest.raises(TypeError, match="concurency"):
        UpsertSettings.of(None, id_property="k", concurency=3)


def _run(hub: MiniHub, data: list[dict[str, str]], *args: Any, **options: Any) -> Any:
    with respx.mock(assert_all_called=False) as mock:
        mock.post(UPSERT_URL).mock(side_effect=hub.handler())
        return upsert_all(data, *args, **options)


def test_upsert_all_takes_a_settings_value_or_its_fields_by_name_alike() -> None:
    data = [{"external_id": f"E{i}"} for i in range(150)]
    settings = UpsertSettings(
        id_property="external_id", token=None, base_url=BASE_URL, retry_policy=FAST
    )
    by_value = _run(MiniHub(), data, settings, token=TOKEN)
    by_name = _run(MiniHub(), data, id_property="external_id", token=TOKEN, base_url=BASE_URL)
    assert by_value.summary() | {"elapsed_s": 0} == by_name.summary() | {"elapsed_s": 0}
    assert by_value.created == 150


def test_a_dry_run_through_upsert_all_sends_nothing() -> None:
    hub = MiniHub()
    report = _run(
        hub, [{"external_id": "A"}, {"nope": "x"}], id_property="external_id", dry_run=True
    )
    assert hub.requests == 0
    assert (report.skipped, report.failed, report.requests) == (1, 1, 0)


def test_the_bulk_engine_reads_the_transports_verdict_and_never_classifies_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def classified_twice(*args: object) -> object:
        raise AssertionError("the answer was classified a second time")

    monkeypatch.setattr(sending, "classify_status", classified_twice)
    hub = MiniHub(faults=[server_error(502), server_error(502)])  # retries run out, then 200s
    report = _run(
        hub,
        [{"external_id": f"E{i}"} for i in range(120)],
        id_property="external_id",
        token=TOKEN,
        base_url=BASE_URL,
        retry_policy=FAST,
        concurrency=1,
    )
    assert report.failed == 100  # SERVER_ERROR, from the verdict the transport attached
    assert report.failures[0].error is not None
    assert report.failures[0].error.category == "SERVER_ERROR"
    assert report.created == 20


def test_a_failed_line_stays_unfinished_when_a_later_line_for_its_id_is_refused(
    tmp_path: Path,
) -> None:
    """Line 1 (with an owner) runs out of retries; line 2 for the same id is refused. Only a
    later *written* line supersedes line 1, so the rerun sends line 1 again and O1 is written."""
    line1 = {"external_id": "X", "hs_postal_mail_body": "a", "hubspot_owner_id": "O1"}
    line2 = {"external_id": "X", "hs_postal_mail_body": "BAD"}  # the hub refuses it
    hub = MiniHub(faults=[server_error(503), server_error(503)])
    state = tmp_path / "run.state"
    options: dict[str, Any] = {
        "id_property": "external_id",
        "token": TOKEN,
        "base_url": BASE_URL,
        "retry_policy": FAST,
        "state": state,
    }
    results: list[RecordResult] = []
    report = _run(hub, [line1, line2], report=results.append, **options)
    assert [r.outcome for r in sorted(results, key=lambda r: r.line)] == [Outcome.FAILED] * 2
    assert report.exit_status == 1
    rerun = _run(hub, [line1, line2], **options)
    assert (rerun.created, rerun.failed) == (1, 1)
    assert hub.store["X"]["hubspot_owner_id"] == "O1"
    assert rerun.exit_status == 1  # line 2 is still refused: failures remain


def test_a_later_written_line_supersedes_an_earlier_unsettled_one(tmp_path: Path) -> None:
    hub = MiniHub(faults=[server_error(503), server_error(503)])
    options: dict[str, Any] = {
        "id_property": "external_id",
        "token": TOKEN,
        "base_url": BASE_URL,
        "retry_policy": FAST,
        "state": tmp_path / "run.state",
    }
    lines = [{"external_id": "X", "v": "1"}, {"external_id": "X", "v": "2"}]
    _run(hub, lines, **options)
    assert hub.store["X"] == {"external_id": "X", "v": "2"}
    rerun = _run(hub, [lines[1]], **options)  # HubSpot holds line 2: nothing to send
    assert (rerun.unchanged, rerun.requests) == (1, 0)


def test_a_request_that_never_got_an_answer_is_a_transport_error_not_a_verdict() -> None:
    with respx.mock() as mock:
        mock.post(UPSERT_URL).mock(side_effect=httpx.ConnectError("refused"))
        report = upsert_all(
            [{"external_id": "A"}],
            id_property="external_id",
            token=TOKEN,
            base_url=BASE_URL,
            retry_policy=FAST,
        )
    assert report.failures[0].error is not None
    assert report.failures[0].error.category == "NETWORK_ERROR"


def test_the_prepared_request_body_is_what_the_generated_models_would_send() -> None:
    from hubspot_postal_mail_client.models import BatchInputSimplePublicObjectBatchInputUpsert

    from hubspot_postal_mail._answers import Item
    from hubspot_postal_mail._records import UpsertInput
    from hubspot_postal_mail._spec import request_validator

    items = [Item(7, UpsertInput(8, "A-1", {"external_id": "A-1", "hs_postal_mail_body": "x"}))]
    prepared = sending._body(items, "external_id").to_dict()
    modelled = BatchInputSimplePublicObjectBatchInputUpsert.from_dict(prepared).to_dict()
    assert prepared == modelled
    assert prepared["inputs"][0]["objectWriteTraceId"] == "7"
    request_validator().validate(prepared)
