"""The importer: HubSpot-shaped JSON in, our normalised contract out, or one clear error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scripts import import_spec, paths
from scripts.import_spec import import_document
from scripts.spec_io import SpecError, dump_yaml, load_document
from tests.scripts import upstream
from tests.scripts.upstream import DATED_PATH, TEMPLATED_PATH, V3_PATH


def _keys(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node).union(*(_keys(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_keys(v) for v in node))
    return set()


def test_keeps_only_the_operation_and_what_it_references() -> None:
    pinned = import_document(upstream.document())
    assert list(pinned["paths"]) == [V3_PATH]
    assert list(pinned["paths"][V3_PATH]) == ["post"]
    assert sorted(pinned["components"]["schemas"]) == [
        "BatchIn",
        "BatchOut",
        "BatchOutWithErrors",
        "Error",
        "Failure",
        "Input",
        "Record",
    ]
    assert pinned["tags"] == [{"name": "Batch"}]


def test_drops_prose_examples_and_hubspot_extensions() -> None:
    pinned = import_document(upstream.document())
    keys = _keys(pinned)
    assert not {"example", "examples", "summary"} & keys
    assert not [k for k in keys if k.startswith("x-hubspot-")]
    text = dump_yaml(pinned)
    assert "Fixture" not in text
    assert "fixture" not in text.replace("fixture-", "")
    # Responses must have a description in OpenAPI: the importer writes its own.
    assert pinned["paths"][V3_PATH]["post"]["responses"]["200"]["description"]
    # Scope names are interface; their upstream descriptions are not.
    flows = pinned["components"]["securitySchemes"]["oauth2"]["flows"]
    assert flows["authorizationCode"]["scopes"] == {upstream.SCOPE: ""}


def test_order_is_stable_and_unordered_lists_are_sorted() -> None:
    pinned = import_document(upstream.document())
    status = pinned["components"]["schemas"]["BatchOut"]["properties"]["status"]
    assert status["enum"] == ["CANCELED", "COMPLETE", "PENDING", "PROCESSING"]
    assert list(pinned) == ["openapi", "info", "servers", "tags", "paths", "components"]
    record = pinned["components"]["schemas"]["Record"]
    assert list(record) == sorted(record)
    assert record["required"] == sorted(record["required"])


def _reordered(node: Any) -> Any:
    """The same document with every mapping and every required/enum list in reverse order."""
    if isinstance(node, dict):
        return {
            k: list(reversed(v))
            if isinstance(v, list) and k in ("required", "enum")
            else _reordered(v)
            for k, v in reversed(node.items())
        }
    if isinstance(node, list):
        return [_reordered(v) for v in node]
    return node


def test_reordering_gives_the_same_bytes() -> None:
    original = upstream.document()
    shuffled = _reordered(original)
    assert json.dumps(shuffled) != json.dumps(original)
    assert dump_yaml(import_document(shuffled)) == dump_yaml(import_document(original))


def test_version_segment_of_the_path_is_found_and_kept() -> None:
    pinned = import_document(upstream.document(DATED_PATH))
    assert list(pinned["paths"]) == [DATED_PATH]


def test_prose_is_carried_from_our_pin_even_when_the_path_moves() -> None:
    ours = import_document(upstream.document(V3_PATH))
    ours["paths"][V3_PATH]["post"]["summary"] = "Our words for the operation"
    ours["components"]["schemas"]["Record"]["properties"]["id"]["description"] = "Our id words"
    pinned = import_document(upstream.document(DATED_PATH), prose_from=ours)
    assert pinned["paths"][DATED_PATH]["post"]["summary"] == "Our words for the operation"
    record = pinned["components"]["schemas"]["Record"]
    assert record["properties"]["id"]["description"] == "Our id words"


def test_our_pin_reimports_to_the_same_bytes() -> None:
    """The pin is a fixed point: importing it with its own prose changes nothing."""
    pin = load_document(paths.PIN)
    assert dump_yaml(import_document(pin, prose_from=pin)) == paths.PIN.read_text("utf-8")


def test_dangling_ref_is_named() -> None:
    doc = upstream.document()
    doc["components"]["schemas"]["BatchOut"]["properties"]["results"]["items"] = upstream.ref(
        "RecordThatDoesNotExist"
    )
    with pytest.raises(SpecError, match=r"dangling \$ref '#/components/schemas/RecordThat"):
        import_document(doc)


def test_missing_operation_is_named() -> None:
    doc = upstream.document()
    doc["paths"] = {
        k: v for k, v in doc["paths"].items() if not k.endswith("postal_mail/batch/upsert")
    }
    with pytest.raises(SpecError, match="no POST operation on a path ending in"):
        import_document(doc)


def test_templated_path_cannot_be_placed() -> None:
    doc = upstream.document(TEMPLATED_PATH)
    doc["paths"][TEMPLATED_PATH]["post"]["parameters"] = [
        {"name": "objectType", "in": "path", "required": True, "schema": {"type": "string"}}
    ]
    with pytest.raises(SpecError, match=r"templated path .*cannot place"):
        import_document(doc)


def test_template_elsewhere_in_the_chosen_path_is_refused() -> None:
    path = "/crm/objects/{version}/postal_mail/batch/upsert"
    doc = upstream.document(path)
    upstream.operation(doc)["parameters"] = [
        {"name": "version", "in": "path", "required": True, "schema": {"type": "string"}}
    ]
    with pytest.raises(SpecError, match="is a template: the pin needs a concrete path"):
        import_document(doc)


def _without_info(doc: dict[str, Any]) -> None:
    del doc["info"]


def _swagger(doc: dict[str, Any]) -> None:
    del doc["openapi"]
    doc["swagger"] = "2.0"


def _response_without_description(doc: dict[str, Any]) -> None:
    del upstream.operation(doc)["responses"]["200"]["description"]


def _bad_type(doc: dict[str, Any]) -> None:
    upstream.schema(doc, "Record")["properties"]["id"]["type"] = "text"


@pytest.mark.parametrize(
    ("break_it", "expected"),
    [
        (_without_info, r"at #/: .info. is a required property"),
        (_swagger, r"expected OpenAPI 3\.x, found no 'openapi' field"),
        (_response_without_description, r"at #/paths/.*~1batch~1upsert/post/responses/200"),
        (_bad_type, r"at #/components/schemas/Record: the value is not valid under any"),
    ],
)
def test_invalid_document_is_one_line(break_it: Any, expected: str) -> None:
    doc = upstream.document()
    break_it(doc)
    with pytest.raises(SpecError, match=expected) as caught:
        import_document(doc)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"{not: [json", "not valid JSON or YAML"),
        (b"[1, 2]", "top level is list, expected an object"),
        (b"\xff\xfe\x00", "not UTF-8 text"),
        (None, "cannot read"),
    ],
)
def test_cli_reports_unreadable_input_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, expected: str
) -> None:
    source = tmp_path / "upstream.json"
    if content is not None:
        source.write_bytes(content)
    assert import_spec.main([str(source)]) == 1
    err = capsys.readouterr().err
    assert expected in err
    assert "Traceback" not in err
    assert err.count("\n") == 1


def test_cli_reports_a_dangling_ref_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = upstream.document()
    upstream.operation(doc)["responses"]["200"]["content"]["application/json"]["schema"] = (
        upstream.ref("Gone")
    )
    source = tmp_path / "upstream.json"
    source.write_text(json.dumps(doc), encoding="utf-8")
    assert import_spec.main([str(source)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("import_spec: dangling $ref '#/components/schemas/Gone'")
    assert err.count("\n") == 1


def test_cli_writes_the_pin_from_a_url(
    served: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, base = served
    (folder / "postal_mail.json").write_text(json.dumps(upstream.document()), encoding="utf-8")
    out = tmp_path / "pin.yaml"
    assert import_spec.main([f"{base}/postal_mail.json", "-o", str(out)]) == 0
    assert out.read_text("utf-8") == dump_yaml(import_document(upstream.document()))
    assert capsys.readouterr().err == ""


def test_url_errors_are_one_line(served: tuple[Path, str]) -> None:
    _, base = served
    with pytest.raises(SpecError, match=r"could not download .*404"):
        load_document(f"{base}/missing.json")


def test_plain_http_is_refused_off_loopback() -> None:
    with pytest.raises(SpecError, match="plain http is only allowed to loopback"):
        load_document("http://spec.example.test/postal_mail.json")
