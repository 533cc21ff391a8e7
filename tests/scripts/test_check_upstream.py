"""check-upstream: on collections we lay out ourselves, says "unchanged" or reports what moved.

The project is a throw-away copy (see conftest) whose pin is imported from our own fixture
document and whose lock records that document's sha256, as after a real update-spec.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scripts import check_upstream, generate, paths
from scripts.import_spec import import_document
from scripts.spec_io import dump_json, dump_yaml
from tests.scripts import upstream
from tests.scripts.upstream import DATED_PATH, TEMPLATED_PATH, V3_PATH


def _bytes(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, indent=1).encode()


def _pin(doc: dict[str, Any]) -> None:
    """Make ``doc`` the project's pinned revision: the pin imported from it, its sha in the lock."""
    paths.PIN.write_text(dump_yaml(import_document(doc)), encoding="utf-8")
    record = {
        "source": "postalMail.json",
        "sha256": check_upstream.Document("", "", _bytes(doc)).sha256,
    }
    paths.LOCK.write_text(dump_json(generate.lock_document(upstream=record)), encoding="utf-8")


def _collection(root: Path, documents: dict[str, bytes]) -> Path:
    for version, data in documents.items():
        folder = root / check_upstream.ROLLOUTS / "424" / version
        folder.mkdir(parents=True)
        (folder / check_upstream.FILE_NAME).write_bytes(data)
    return root


def _run(collection: str, tmp_path: Path) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "findings.json"
    status = check_upstream.main([collection, "--json", str(out)])
    return status, json.loads(out.read_text()) if out.exists() else {}


@pytest.fixture
def pinned_v3(project: Path) -> dict[str, Any]:
    doc = upstream.document(V3_PATH)
    _pin(doc)
    return doc


def _with_note(doc: dict[str, Any]) -> dict[str, Any]:
    upstream.schema(doc, "Record")["properties"]["note"] = {"type": "string"}
    return doc


def test_the_pinned_revision_is_unchanged(
    pinned_v3: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    collection = _collection(tmp_path / "c", {"v3": _bytes(pinned_v3)})
    status, findings = _run(str(collection), tmp_path)
    assert status == check_upstream.EXIT_UNCHANGED
    assert capsys.readouterr().out == "unchanged\n"
    assert findings == {"status": "unchanged", "findings": []}


def test_a_new_revision_on_the_pinned_line_is_reported(
    pinned_v3: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    collection = _collection(tmp_path / "c", {"v3": _bytes(_with_note(pinned_v3))})
    status, findings = _run(str(collection), tmp_path)
    assert status == check_upstream.EXIT_CHANGED
    out = capsys.readouterr().out
    assert "## New revision (v3)" in out
    assert "property `note` added (optional)" in out
    assert "0 breaking, 1 safe." in out
    [finding] = findings["findings"]
    assert (finding["line"], finding["breaking"], finding["safe"]) == ("v3", 0, 1)
    assert finding["document"].endswith("/424/v3/postalMail.json")


def test_a_new_api_line_is_reported_as_the_move_with_its_breaking_path_change(
    pinned_v3: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    collection = _collection(
        tmp_path / "c",
        {"v3": _bytes(pinned_v3), "2026-03": _bytes(upstream.document(DATED_PATH))},
    )
    status, findings = _run(str(collection), tmp_path)
    assert status == check_upstream.EXIT_CHANGED
    out = capsys.readouterr().out
    assert "## New API line (2026-03)" in out
    assert f"path changed from `{V3_PATH}` to `{DATED_PATH}`" in out
    [finding] = findings["findings"]
    assert (finding["line"], finding["kind"], finding["breaking"]) == ("2026-03", "New API line", 1)


def test_a_newer_date_version_is_reported_when_the_pin_is_dated(
    project: Path, tmp_path: Path
) -> None:
    _pin(upstream.document(DATED_PATH))
    newer = upstream.document(DATED_PATH.replace("2026-03", "2026-09"))
    collection = _collection(
        tmp_path / "c",
        {
            "v3": _bytes(_with_note(upstream.document(V3_PATH))),
            "2026-03": _bytes(upstream.document(DATED_PATH)),
            "2026-09": _bytes(newer),
        },
    )
    status, findings = _run(str(collection), tmp_path)
    assert status == check_upstream.EXIT_CHANGED
    assert [(f["line"], f["kind"]) for f in findings["findings"]] == [("2026-09", "New version")], (
        "the older v3 line is not proposed, even when it moved"
    )


def test_a_document_that_fails_validation_is_an_error_not_a_report(
    pinned_v3: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = _with_note(pinned_v3)
    del upstream.operation(broken)["responses"]["200"]["description"]
    collection = _collection(tmp_path / "c", {"v3": _bytes(broken)})
    status, findings = _run(str(collection), tmp_path)
    assert status == check_upstream.EXIT_ERROR
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "invalid OpenAPI document" in captured.err
    assert "424/v3/postalMail.json" in captured.err
    assert findings == {}


def test_a_document_with_only_a_templated_path_is_passed_over(
    pinned_v3: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    generic = upstream.document(TEMPLATED_PATH)
    upstream.operation(generic)["parameters"] = [
        {"name": "objectType", "in": "path", "required": True, "schema": {"type": "string"}}
    ]
    collection = _collection(tmp_path / "c", {"v3": _bytes(pinned_v3), "2025-09": _bytes(generic)})
    status, _ = _run(str(collection), tmp_path)
    assert status == check_upstream.EXIT_UNCHANGED
    assert "2025-09: passed over" in capsys.readouterr().err


def test_a_collection_served_over_http_is_probed_by_version(
    pinned_v3: dict[str, Any], tmp_path: Path, served: tuple[Path, str]
) -> None:
    folder, base = served
    _collection(folder, {"v3": _bytes(pinned_v3), "2026-03": _bytes(upstream.document(DATED_PATH))})
    status, findings = _run(base, tmp_path)
    assert status == check_upstream.EXIT_CHANGED
    [finding] = findings["findings"]
    assert finding["line"] == "2026-03"
    assert finding["document"].startswith(base + "/PublicApiSpecs/CRM/Postal%20Mail/")


def test_a_folder_that_is_not_a_collection_is_an_error(
    pinned_v3: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check_upstream.main([str(tmp_path)]) == check_upstream.EXIT_ERROR
    assert "is this the spec collection?" in capsys.readouterr().err


def test_a_document_under_an_oddly_named_folder_is_ignored(
    pinned_v3: dict[str, Any], tmp_path: Path
) -> None:
    """Locations reach the workflow's commands and branch names: only plain folder names count."""
    collection = _collection(tmp_path / "c", {"v3": _bytes(pinned_v3)})
    odd = collection / check_upstream.ROLLOUTS / "$(touch pwned)" / "2026-03"
    odd.mkdir(parents=True)
    (odd / check_upstream.FILE_NAME).write_bytes(_bytes(upstream.document(DATED_PATH)))
    status, findings = _run(str(collection), tmp_path)
    assert status == check_upstream.EXIT_UNCHANGED
    assert findings["findings"] == []
