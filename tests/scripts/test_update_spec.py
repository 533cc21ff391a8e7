"""update-spec: the pin, lock, client and change log move together, or not at all.

Each case runs against a throw-away copy of openapi/ and generated_client/ (see conftest), with
an "upstream" that is our own pin, mutated and written out as JSON. Regeneration is real; the
contract-test step is replaced, so that a case can make it fail on purpose.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scripts import generate, paths, update_spec
from scripts.spec_io import load_document
from tests.scripts.conftest import tree_bytes
from tests.scripts.upstream import DATED_PATH as NEW_PATH


def _passes() -> None:
    """A contract-test step that finds nothing wrong."""


def _skip_generation() -> None:
    """Stands in for the generator where a case is about something else (it takes seconds)."""


def _fails() -> None:
    raise update_spec.StepFailed("pytest exit status 1")


def _upstream(project: Path, mutate: Callable[[dict[str, Any]], None]) -> Path:
    doc = load_document(paths.PIN)
    mutate(doc)
    doc["x-hubspot-fixture"] = {"dropped": True}
    target = project.parent / "upstream.json"
    target.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return target


def _schemas(doc: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = doc["components"]["schemas"]
    return found


def _add_optional_result_field(doc: dict[str, Any]) -> None:
    _schemas(doc)["SimplePublicUpsertObject"]["properties"]["hsNote"] = {"type": "string"}


def _drop_result_url(doc: dict[str, Any]) -> None:
    del _schemas(doc)["SimplePublicUpsertObject"]["properties"]["url"]


def _dated_path_elsewhere() -> str:
    """A date-versioned path the pin is not on (the next version if it already moved)."""
    (pinned,) = load_document(paths.PIN)["paths"]
    return NEW_PATH if pinned != NEW_PATH else NEW_PATH.replace("2026-03", "2026-09")


def _move_to(path: str) -> Callable[[dict[str, Any]], None]:
    def move(doc: dict[str, Any]) -> None:
        doc["paths"] = {path: doc["paths"].popitem()[1]}

    return move


def _versions(part: str) -> tuple[str, str]:
    """The client's version now (generator.yaml) and after an update of this change class."""
    config = paths.GENERATOR_CONFIG.read_text("utf-8")
    match = re.search(r"^package_version_override: (\d+)\.(\d+)\.(\d+)$", config, re.MULTILINE)
    assert match is not None
    major, minor, patch = (int(n) for n in match.groups())
    after = {
        "major": (major + 1, 0, 0),
        "minor": (major, minor + 1, 0),
        "patch": (major, minor, patch + 1),
    }[part]
    return f"{major}.{minor}.{patch}", ".".join(map(str, after))


def _snapshot(project: Path) -> dict[str, bytes]:
    return tree_bytes(project)


def test_safe_update_lands_everything(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = _upstream(project, _add_optional_result_field)
    old, new = _versions("minor")
    status = update_spec.update(str(source), commit="abc123", contract_tests_step=_passes)
    assert status == update_spec.EXIT_OK
    out = capsys.readouterr().out
    assert "property `hsNote` added (optional)" in out
    pin = load_document(paths.PIN)
    result = pin["components"]["schemas"]["SimplePublicUpsertObject"]
    assert result["properties"]["hsNote"] == {"type": "string"}
    assert result["description"] == "A record as stored after the upsert.", "prose kept"
    assert "x-hubspot-fixture" not in paths.PIN.read_text("utf-8")
    lock = json.loads(paths.LOCK.read_text("utf-8"))
    assert lock["upstream"] == {
        "source": "upstream.json",
        "sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
        "commit": "abc123",
    }
    models = project / "generated_client/hubspot_postal_mail_client/models"
    assert "hs_note" in (models / "simple_public_upsert_object.py").read_text("utf-8")
    assert generate.check() == [], "client and lock agree with the new pin"
    changes = paths.CHANGES.read_text("utf-8")
    assert changes.startswith(update_spec.CHANGES_HEADER)
    assert ": upstream.json\n" in changes
    assert "property `hsNote` added (optional)" in changes
    assert f"Client `hubspot-postal-mail-client` {old} → {new} (minor)." in changes
    init = (project / "generated_client/hubspot_postal_mail_client/__init__.py").read_text()
    assert f'__version__ = "{new}"' in init, "a safe change is a minor release"


def test_breaking_update_is_refused_and_touches_nothing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _upstream(project, _drop_result_url)
    before = _snapshot(project)
    status = update_spec.update(str(source), contract_tests_step=_passes)
    assert status == update_spec.EXIT_REFUSED
    captured = capsys.readouterr()
    assert "property `url` removed" in captured.out
    assert "ACCEPT_BREAKING=1" in captured.err
    assert _snapshot(project) == before


def test_accepted_breaking_update_lands_and_says_so(project: Path) -> None:
    source = _upstream(project, _drop_result_url)
    old, new = _versions("major")
    status = update_spec.update(
        str(source),
        accept_breaking=True,
        regenerate_step=_skip_generation,
        contract_tests_step=_passes,
    )
    assert status == update_spec.EXIT_OK
    result = load_document(paths.PIN)["components"]["schemas"]["SimplePublicUpsertObject"]
    assert "url" not in result["properties"]
    changes = paths.CHANGES.read_text("utf-8")
    assert "Breaking changes accepted" in changes
    assert f"{old} → {new} (major)" in changes
    assert f"package_version_override: {new}\n" in paths.GENERATOR_CONFIG.read_text("utf-8")


def test_an_upstream_revision_without_contract_changes_is_a_patch_release(project: Path) -> None:
    def reword(doc: dict[str, Any]) -> None:
        _schemas(doc)["SimplePublicUpsertObject"]["description"] = "HubSpot's new words."

    source = _upstream(project, reword)
    old, new = _versions("patch")
    status = update_spec.update(
        str(source), regenerate_step=_skip_generation, contract_tests_step=_passes
    )
    assert status == update_spec.EXIT_OK
    assert f"package_version_override: {new}\n" in paths.GENERATOR_CONFIG.read_text("utf-8")
    assert f"{old} → {new} (patch)" in paths.CHANGES.read_text("utf-8")


def test_move_to_the_dated_path_passes_the_contract_suite_in_a_copy_of_the_project(
    whole_project: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """The date-versioned move, for real: regenerate, then the contract suite on the copy.

    The suite runs with the real step (a fresh interpreter whose imports come from the copy), on
    a quick Hypothesis profile; the runtime in the copy must then read the new path from the pin.
    """
    monkeypatch.setenv("HYPOTHESIS_PROFILE", "smoke")
    target = _dated_path_elsewhere()
    source = _upstream(whole_project, _move_to(target))
    _, new = _versions("major")
    status = update_spec.update(str(source), accept_breaking=True)
    out = capfd.readouterr().out
    assert status == update_spec.EXIT_OK, out
    assert re.search(r"\b\d+ passed\b", out), "the contract suite ran"
    assert " failed" not in out
    module = whole_project / "generated_client/hubspot_postal_mail_client/api/batch/batch_upsert.py"
    assert target in module.read_text("utf-8")
    assert generate.check() == []
    runtime_path = subprocess.run(
        [sys.executable, "-c", "import hubspot_postal_mail as h; print(h.UPSERT_PATH)"],
        cwd=whole_project,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(update_spec.project_import_path())},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert runtime_path == target
    workspace_lock = (whole_project / "uv.lock").read_text("utf-8")
    assert f'name = "hubspot-postal-mail-client"\nversion = "{new}"\n' in workspace_lock, (
        "uv.lock follows the major bump, so `uv sync --locked` still works"
    )


def test_failing_contract_tests_restore_every_file(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "openapi/CHANGES.md").write_text("# Changes\n\nearlier entry\n", encoding="utf-8")
    source = _upstream(project, _add_optional_result_field)
    before = _snapshot(project)
    status = update_spec.update(str(source), contract_tests_step=_fails)
    assert status == update_spec.EXIT_FAILED
    assert "running the contract tests failed" in capsys.readouterr().err
    assert _snapshot(project) == before


def test_failing_regeneration_restores_every_file(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An overlay whose target the update removes makes generation fail loudly, mid-way."""
    (project / "openapi/overlays/90-fixture.yaml").write_text(
        "overlay: 1.0.0\ninfo: {title: fixture, version: '1'}\nactions:\n"
        "  - target: $.components.schemas.SimplePublicUpsertObject.properties.url\n"
        "    description: fixture relying on url\n    update: {maxLength: 2000}\n",
        encoding="utf-8",
    )
    paths.CHANGES.unlink(missing_ok=True)
    source = _upstream(project, _drop_result_url)
    before = _snapshot(project)
    status = update_spec.update(str(source), accept_breaking=True, contract_tests_step=_passes)
    assert status == update_spec.EXIT_FAILED
    err = capsys.readouterr().err
    assert "regenerating the client failed" in err
    assert "target matches nothing" in err
    assert _snapshot(project) == before
    assert not paths.CHANGES.exists(), "a file that did not exist is removed again"


def test_interrupt_restores_every_file_and_propagates(project: Path) -> None:
    source = _upstream(project, _add_optional_result_field)

    def regenerate_then_interrupt() -> None:
        (paths.GENERATED / "README.md").write_text("half-written", encoding="utf-8")
        (paths.GENERATED / "stray.py").write_text("", encoding="utf-8")
        raise KeyboardInterrupt

    before = _snapshot(project)
    with pytest.raises(KeyboardInterrupt):
        update_spec.update(
            str(source), regenerate_step=regenerate_then_interrupt, contract_tests_step=_passes
        )
    assert _snapshot(project) == before


def test_same_revision_twice_is_a_no_op(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = _upstream(project, _add_optional_result_field)
    first = update_spec.update(
        str(source), regenerate_step=_skip_generation, contract_tests_step=_passes
    )
    assert first == update_spec.EXIT_OK
    after_first = _snapshot(project)
    capsys.readouterr()
    assert update_spec.update(str(source), contract_tests_step=_fails) == update_spec.EXIT_OK
    assert "nothing to do" in capsys.readouterr().out
    assert _snapshot(project) == after_first


def test_cli_honours_accept_breaking_from_the_environment(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _upstream(project, _drop_result_url)
    monkeypatch.setattr(update_spec, "run_contract_tests", _passes)
    monkeypatch.setattr(update_spec, "regenerate", _skip_generation)
    monkeypatch.setenv("ACCEPT_BREAKING", "1")
    assert update_spec.main([str(source)]) == update_spec.EXIT_OK


def test_cli_import_error_is_one_line(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def dangle(doc: dict[str, Any]) -> None:
        _schemas(doc)["BatchResponseSimplePublicUpsertObject"]["properties"]["results"]["items"] = {
            "$ref": "#/components/schemas/Missing"
        }

    source = _upstream(project, dangle)
    before = _snapshot(project)
    assert update_spec.main([str(source)]) == update_spec.EXIT_FAILED
    err = capsys.readouterr().err
    assert err.startswith("update-spec: ")
    assert "dangling $ref" in err
    assert err.count("\n") == 1
    assert _snapshot(project) == before


def test_contract_test_step_runs_the_suite_and_reports_failure(
    project: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """The real step runs pytest on the project's contract_tests/ and fails when it fails."""
    suite = project / "contract_tests"
    suite.mkdir()
    (suite / "test_one.py").write_text("def test_ok():\n    assert True\n", encoding="utf-8")
    update_spec.run_contract_tests()
    (suite / "test_two.py").write_text("def test_no():\n    assert False\n", encoding="utf-8")
    with pytest.raises(update_spec.StepFailed, match="pytest exit status 1"):
        update_spec.run_contract_tests()
    assert "1 failed, 1 passed" in capfd.readouterr().out


def test_a_document_from_hubspots_collection_is_recorded_by_its_path_there() -> None:
    source = "checkout/PublicApiSpecs/CRM/Postal Mail/Rollouts/424/2026-03/postalMail.json"
    record = update_spec.upstream_record(source, b"{}", None)
    assert record["source"] == "PublicApiSpecs/CRM/Postal Mail/Rollouts/424/2026-03/postalMail.json"
    assert update_spec.upstream_record("elsewhere/upstream.json", b"{}", None)["source"] == (
        "upstream.json"
    )


def test_a_failing_workspace_lock_restores_every_file_with_uv_lock(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "uv.lock").write_text('version = 1\n[[package]]\nversion = "0.1.0"\n')
    source = _upstream(project, _add_optional_result_field)
    before = _snapshot(project)

    def relock_then_fail() -> None:
        (project / "uv.lock").write_text("half-written")
        raise update_spec.StepFailed("uv lock exit status 2: no network")

    status = update_spec.update(
        str(source),
        regenerate_step=_skip_generation,
        relock_step=relock_then_fail,
        contract_tests_step=_passes,
    )
    assert status == update_spec.EXIT_FAILED
    assert "locking the workspace" in capsys.readouterr().err
    assert _snapshot(project) == before
