"""The change report: every class of change, classified for this client's users."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scripts import spec_diff
from scripts.change_report import BREAKING, SAFE, Change, Report
from scripts.import_spec import import_document
from scripts.spec_diff import diff_documents
from scripts.spec_io import dump_yaml
from tests.scripts import upstream
from tests.scripts.upstream import DATED_PATH, V3_PATH, operation, schema

Mutation = Callable[[dict[str, Any]], None]


def _diff(mutate: Mutation, *, path: str = V3_PATH) -> list[Change]:
    old = upstream.document()
    new = upstream.document(path)
    mutate(new)
    return diff_documents(import_document(old), import_document(new))


def _only(changes: list[Change]) -> Change:
    assert len(changes) == 1, [f"{c.where}: {c.what}" for c in changes]
    return changes[0]


def test_identical_documents_have_no_changes() -> None:
    assert _diff(lambda doc: None) == []


def test_reordering_and_prose_are_no_change() -> None:
    def reorder(doc: dict[str, Any]) -> None:
        out = schema(doc, "BatchOut")
        out["properties"]["status"]["enum"].reverse()
        out["required"].reverse()
        out["properties"] = dict(reversed(out["properties"].items()))
        out["description"] = "other words"
        op = operation(doc)
        op["security"].reverse()
        op["responses"] = dict(reversed(op["responses"].items()))
        op["summary"] = "different summary"

    assert _diff(reorder) == []


# --- response direction: the client reads these -----------------------------------------------


def test_new_optional_response_property_is_safe() -> None:
    def add(doc: dict[str, Any]) -> None:
        schema(doc, "Record")["properties"]["archived"] = {"type": "boolean"}

    change = _only(_diff(add))
    assert (change.kind, change.severity) == ("property-added", SAFE)
    assert change.where == "200 response schema BatchOut.results[] → Record"
    assert "archived" in change.what


def test_response_property_removed_is_breaking_and_found_through_refs() -> None:
    def drop(doc: dict[str, Any]) -> None:
        del schema(doc, "BatchOutWithErrors")["properties"]["numErrors"]

    change = _only(_diff(drop))
    assert (change.kind, change.severity) == ("property-removed", BREAKING)
    assert change.where == "207 response schema BatchOutWithErrors"
    assert change.what == "property `numErrors` removed"


def test_change_in_a_shared_schema_is_reported_once_with_every_route() -> None:
    def drop(doc: dict[str, Any]) -> None:
        del schema(doc, "Record")["properties"]["url"]

    change = _only(_diff(drop))
    assert change.severity == BREAKING
    assert change.where == "200 response schema BatchOut.results[] → Record"
    assert change.also == ["207 response schema BatchOutWithErrors.results[] → Record"]


def test_new_enum_value_in_a_response_is_safe_but_listed() -> None:
    def add(doc: dict[str, Any]) -> None:
        for name in ("BatchOut", "BatchOutWithErrors"):
            schema(doc, name)["properties"]["status"]["enum"].append("ON_HOLD")

    changes = _diff(add)
    assert {(c.kind, c.severity, c.new) for c in changes} == {("enum-value-added", SAFE, "ON_HOLD")}
    assert {c.where for c in changes} == {
        "200 response schema BatchOut.status",
        "207 response schema BatchOutWithErrors.status",
    }
    assert "is_known" in changes[0].reason


def test_enum_value_removed_is_breaking() -> None:
    def drop(doc: dict[str, Any]) -> None:
        schema(doc, "BatchOut")["properties"]["status"]["enum"].remove("CANCELED")

    change = _only(_diff(drop))
    assert (change.kind, change.severity, change.old) == (
        "enum-value-removed",
        BREAKING,
        "CANCELED",
    )


def test_response_property_no_longer_required_is_breaking() -> None:
    def loosen(doc: dict[str, Any]) -> None:
        schema(doc, "Record")["required"].remove("createdAt")

    changes = _diff(loosen)
    assert {(c.kind, c.severity) for c in changes} == {("property-optional", BREAKING)}


def test_response_property_now_required_is_safe() -> None:
    def tighten(doc: dict[str, Any]) -> None:
        schema(doc, "Record")["required"].append("url")

    changes = _diff(tighten)
    assert {(c.kind, c.severity) for c in changes} == {("property-required", SAFE)}


def test_type_and_format_changes_are_breaking() -> None:
    def retype(doc: dict[str, Any]) -> None:
        schema(doc, "Record")["properties"]["new"] = {"type": "string"}
        del schema(doc, "BatchOut")["properties"]["completedAt"]["format"]

    changes = {c.kind: c for c in _diff(retype)}
    assert changes["type-changed"].severity == BREAKING
    assert changes["type-changed"].what == "type changed from boolean to string"
    assert changes["type-changed"].where == "200 response schema BatchOut.results[] → Record.new"
    assert changes["format-changed"].severity == BREAKING
    assert changes["format-changed"].where == "200 response schema BatchOut.completedAt"


def test_response_code_added_is_safe_and_removed_is_breaking() -> None:
    def move(doc: dict[str, Any]) -> None:
        responses = operation(doc)["responses"]
        del responses["207"]
        responses["202"] = {"description": "later", "content": upstream._json_body("BatchOut")}

    changes = {c.kind: c for c in _diff(move)}
    assert set(changes) == {"response-added", "response-removed"}
    assert (changes["response-added"].where, changes["response-added"].severity) == (
        "202 response",
        SAFE,
    )
    assert (changes["response-removed"].where, changes["response-removed"].severity) == (
        "207 response",
        BREAKING,
    )


# --- request direction: the client sends these ------------------------------------------------


def test_new_required_request_field_is_breaking() -> None:
    def add(doc: dict[str, Any]) -> None:
        schema(doc, "Input")["properties"]["objectWriteTraceId"] = {"type": "string"}
        schema(doc, "Input")["required"].append("objectWriteTraceId")

    change = _only(_diff(add))
    assert (change.kind, change.severity) == ("property-added", BREAKING)
    assert change.where == "request body schema BatchIn.inputs[] → Input"
    assert change.what == "property `objectWriteTraceId` added (required)"


def test_new_optional_request_field_is_safe() -> None:
    def add(doc: dict[str, Any]) -> None:
        schema(doc, "Input")["properties"]["objectWriteTraceId"] = {"type": "string"}

    assert (_only(_diff(add)).severity) == SAFE


def test_request_field_becoming_required_is_breaking() -> None:
    def tighten(doc: dict[str, Any]) -> None:
        schema(doc, "Input")["required"].append("idProperty")

    change = _only(_diff(tighten))
    assert (change.kind, change.severity) == ("property-required", BREAKING)


def test_request_enum_value_added_is_safe_and_restriction_is_breaking() -> None:
    def restrict(doc: dict[str, Any]) -> None:
        schema(doc, "Input")["properties"]["idProperty"]["enum"] = ["email", "hs_object_id"]

    change = _only(_diff(restrict))
    assert (change.kind, change.severity) == ("enum-added", BREAKING)


def test_request_constraint_tightened_is_breaking_and_loosened_is_safe() -> None:
    old = upstream.document()
    schema(old, "BatchIn")["properties"]["inputs"]["maxItems"] = 100
    tighter, looser = upstream.document(), upstream.document()
    schema(tighter, "BatchIn")["properties"]["inputs"]["maxItems"] = 50
    schema(looser, "BatchIn")["properties"]["inputs"]["maxItems"] = 200
    base = import_document(old)
    assert _only(diff_documents(base, import_document(tighter))).severity == BREAKING
    assert _only(diff_documents(base, import_document(looser))).severity == SAFE


# --- operation and security -------------------------------------------------------------------


def test_version_segment_path_change_is_breaking_and_the_only_change() -> None:
    change = _only(_diff(lambda doc: None, path=DATED_PATH))
    assert (change.kind, change.severity) == ("path-changed", BREAKING)
    assert (change.old, change.new) == (V3_PATH, DATED_PATH)
    assert "operationId" in change.what


def test_operation_id_change_on_its_own_is_safe() -> None:
    def rename(doc: dict[str, Any]) -> None:
        operation(doc)["operationId"] = f"post-{V3_PATH}"

    change = _only(_diff(rename))
    assert (change.kind, change.severity) == ("operation-id-changed", SAFE)


def test_security_scope_added_is_breaking() -> None:
    def scope(doc: dict[str, Any]) -> None:
        operation(doc)["security"][0]["oauth2"].append("crm.other.read")

    change = _only(_diff(scope))
    assert (change.kind, change.severity, change.new) == (
        "security-scope-added",
        BREAKING,
        "crm.other.read",
    )


def test_security_scope_removed_is_safe() -> None:
    def scope(doc: dict[str, Any]) -> None:
        operation(doc)["security"][0]["oauth2"] = []

    assert _only(_diff(scope)).severity == SAFE


def test_dropping_an_alternative_this_client_never_uses_is_safe() -> None:
    def drop(doc: dict[str, Any]) -> None:
        operation(doc)["security"] = [{"oauth2": [upstream.SCOPE]}]

    change = _only(_diff(drop))
    assert (change.kind, change.severity) == ("security-requirement-removed", SAFE)
    assert "private_apps" in change.where


def test_dropping_the_bearer_alternative_is_breaking() -> None:
    def drop(doc: dict[str, Any]) -> None:
        operation(doc)["security"] = [{"private_apps": [upstream.SCOPE]}]

    change = _only(_diff(drop))
    assert (change.kind, change.severity) == ("security-requirement-removed", BREAKING)


# --- output -----------------------------------------------------------------------------------


def _write(folder: Path, name: str, doc: dict[str, Any]) -> Path:
    target = folder / name
    target.write_text(json.dumps(doc), encoding="utf-8")
    return target


def test_markdown_groups_breaking_before_safe() -> None:
    def mix(doc: dict[str, Any]) -> None:
        schema(doc, "Record")["properties"]["archived"] = {"type": "boolean"}
        del schema(doc, "BatchOut")["properties"]["completedAt"]

    text = Report("old.json", "new.json", _diff(mix)).to_markdown()
    assert text.startswith("## Spec changes: `old.json` → `new.json`\n\n1 breaking, 1 safe.")
    assert text.index("### Breaking") < text.index("completedAt") < text.index("### Safe")
    assert text.index("### Safe") < text.index("archived")
    assert Report("a", "b", []).to_markdown().endswith("No contract changes.\n")


def test_cli_json_from_a_file_and_a_url(
    tmp_path: Path, served: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    folder, base = served
    old = _write(tmp_path, "old.json", upstream.document())
    new = upstream.document()
    del schema(new, "BatchOut")["properties"]["completedAt"]
    _write(folder, "new.json", new)
    assert spec_diff.main([str(old), f"{base}/new.json", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["breaking"], report["safe"]) == (1, 0)
    (change,) = report["changes"]
    assert change["kind"] == "property-removed"
    assert change["severity"] == "breaking"
    assert change["where"] == "200 response schema BatchOut"
    assert change["old"] == "completedAt"


def test_cli_compares_our_pin_with_upstream_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Either side may be our YAML pin: both are normalised the same way first."""
    ours = tmp_path / "pin.yaml"
    ours.write_text(dump_yaml(import_document(upstream.document())), encoding="utf-8")
    theirs = _write(tmp_path, "upstream.json", upstream.document())
    assert spec_diff.main([str(ours), str(theirs)]) == 0
    assert capsys.readouterr().out.endswith("No contract changes.\n")


def test_cli_error_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = _write(tmp_path, "old.json", upstream.document())
    broken = upstream.document()
    operation(broken)["requestBody"]["content"]["application/json"]["schema"] = upstream.ref("No")
    new = _write(tmp_path, "new.json", broken)
    assert spec_diff.main([str(old), str(new)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"spec_diff: {new}: dangling $ref")
    assert err.count("\n") == 1


# --- the rest of the policy table, one mutation each -------------------------------------------


def _input_props(doc: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = schema(doc, "Input")["properties"]
    return found


def _nullable_result_id(doc: dict[str, Any]) -> None:
    schema(doc, "Record")["properties"]["id"]["nullable"] = True


def _nullable_input_id(doc: dict[str, Any]) -> None:
    _input_props(doc)["id"]["nullable"] = True


def _uuid_input_id(doc: dict[str, Any]) -> None:
    _input_props(doc)["id"]["format"] = "uuid"


def _email_input_id(doc: dict[str, Any]) -> None:
    _input_props(doc)["id"]["format"] = "email"


def _email_result_id(doc: dict[str, Any]) -> None:
    schema(doc, "Record")["properties"]["id"]["format"] = "email"


def _integer_input_id(doc: dict[str, Any]) -> None:
    _input_props(doc)["id"]["type"] = "integer"


def _closed_input_properties(doc: dict[str, Any]) -> None:
    _input_props(doc)["properties"]["additionalProperties"] = False


def _untyped_input_properties(doc: dict[str, Any]) -> None:
    _input_props(doc)["properties"]["additionalProperties"] = True


def _closed_result(doc: dict[str, Any]) -> None:
    schema(doc, "Record")["additionalProperties"] = False


def _typed_result_extras(doc: dict[str, Any]) -> None:
    schema(doc, "Record")["additionalProperties"] = {"type": "string"}


def _status_enum_dropped(doc: dict[str, Any]) -> None:
    for name in ("BatchOut", "BatchOutWithErrors"):
        del schema(doc, name)["properties"]["status"]["enum"]


def _error_as_json(doc: dict[str, Any]) -> None:
    content = doc["components"]["responses"]["Error"]["content"]
    content["application/json"] = content.pop("*/*")


def _query_parameter(required: bool) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        operation(doc)["parameters"] = [
            {"name": "dryRun", "in": "query", "required": required, "schema": {"type": "boolean"}}
        ]

    return mutate


def _body_optional(doc: dict[str, Any]) -> None:
    operation(doc)["requestBody"]["required"] = False


def _renamed_request_schema(doc: dict[str, Any]) -> None:
    doc["components"]["schemas"]["BatchInput"] = doc["components"]["schemas"].pop("BatchIn")
    body = operation(doc)["requestBody"]["content"]["application/json"]
    body["schema"] = upstream.ref("BatchInput")


def _one_of_result_id(doc: dict[str, Any]) -> None:
    schema(doc, "Record")["properties"]["id"] = {"oneOf": [{"type": "string"}, {"type": "integer"}]}


def _min_length_result_id(doc: dict[str, Any]) -> None:
    schema(doc, "Record")["properties"]["id"]["minLength"] = 1


def _oauth_becomes_api_key(doc: dict[str, Any]) -> None:
    doc["components"]["securitySchemes"]["oauth2"] = {
        "type": "apiKey",
        "in": "header",
        "name": "x-key",
    }


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (_nullable_result_id, {("nullable-added", BREAKING, "response")}),
        (_nullable_input_id, {("nullable-added", SAFE, "request")}),
        (_uuid_input_id, {("format-changed", BREAKING, "request")}),
        (_email_input_id, {("format-changed", BREAKING, "request")}),
        (_email_result_id, {("format-changed", SAFE, "response")}),
        (_integer_input_id, {("type-changed", BREAKING, "request")}),
        (_closed_input_properties, {("additional-properties-changed", BREAKING, "request")}),
        (_untyped_input_properties, {("additional-properties-changed", SAFE, "request")}),
        (_closed_result, {("additional-properties-changed", SAFE, "response")}),
        (_typed_result_extras, {("additional-properties-changed", BREAKING, "response")}),
        (_status_enum_dropped, {("enum-removed", BREAKING, "response")}),
        (
            _error_as_json,
            {("media-type-added", SAFE, "response"), ("media-type-removed", BREAKING, "response")},
        ),
        (_query_parameter(True), {("parameter-added", BREAKING, "request")}),
        (_query_parameter(False), {("parameter-added", SAFE, "request")}),
        (_body_optional, {("required-removed", SAFE, "request")}),
        (_renamed_request_schema, {("schema-renamed", BREAKING, "request")}),
        (
            _one_of_result_id,
            {("type-changed", BREAKING, "response"), ("composition-changed", BREAKING, "response")},
        ),
        (_min_length_result_id, {("constraint-changed", SAFE, "response")}),
        (_oauth_becomes_api_key, {("security-scheme-changed", BREAKING, None)}),
    ],
)
def test_policy(mutate: Mutation, expected: set[tuple[str, str, str | None]]) -> None:
    assert {(c.kind, c.severity, c.direction) for c in _diff(mutate)} == expected


def test_request_enum_dropped_is_safe() -> None:
    old = upstream.document()
    _input_props(old)["idProperty"]["enum"] = ["email"]
    change = _only(diff_documents(import_document(old), import_document(upstream.document())))
    assert (change.kind, change.severity) == ("enum-removed", SAFE)
