"""The overlay applier: Overlay 1.0 update/remove semantics, and loud failure on drift."""

from __future__ import annotations

from typing import Any

import pytest

from scripts import paths
from scripts.generate import merged_spec
from scripts.overlay import apply_overlay
from scripts.spec_io import SpecError, load_document

DOC: dict[str, Any] = {
    "components": {
        "schemas": {
            "Error": {
                "required": ["category", "correlationId", "message"],
                "properties": {"message": {"type": "string"}},
            }
        }
    }
}


def _overlay(*actions: dict[str, Any]) -> dict[str, Any]:
    return {"overlay": "1.0.0", "info": {"title": "t", "version": "1"}, "actions": list(actions)}


def test_update_merges_objects_recursively() -> None:
    out = apply_overlay(
        DOC,
        _overlay(
            {
                "target": "$.components.schemas.Error",
                "description": "why",
                "update": {"properties": {"code": {"type": "string"}}},
            }
        ),
    )
    assert out["components"]["schemas"]["Error"]["properties"] == {
        "message": {"type": "string"},
        "code": {"type": "string"},
    }
    assert "code" not in DOC["components"]["schemas"]["Error"]["properties"], "input mutated"


def test_remove_by_filter_drops_only_matching_list_items() -> None:
    out = apply_overlay(
        DOC,
        _overlay(
            {
                "target": "$.components.schemas.Error.required"
                "[?@ == 'category' || @ == 'correlationId']",
                "description": "why",
                "remove": True,
            }
        ),
    )
    assert out["components"]["schemas"]["Error"]["required"] == ["message"]


def test_target_matching_nothing_is_an_error() -> None:
    with pytest.raises(SpecError, match="matches nothing"):
        apply_overlay(
            DOC,
            _overlay(
                {"target": "$.components.schemas.Missing", "description": "why", "remove": True}
            ),
        )


def test_action_without_reason_is_refused() -> None:
    with pytest.raises(SpecError, match="say why"):
        apply_overlay(DOC, _overlay({"target": "$.components", "update": {}}))


def test_pinned_file_is_never_changed_by_the_overlays() -> None:
    before = paths.PIN.read_bytes()
    merged = merged_spec()
    assert paths.PIN.read_bytes() == before
    pin = load_document(paths.PIN)
    assert "*/*" in pin["components"]["responses"]["Error"]["content"]
    assert list(merged["components"]["responses"]["Error"]["content"]) == ["application/json"]


def test_overlays_only_relax_required_lists() -> None:
    """Never stricter than upstream: no schema gains a required field through an overlay."""
    pin = load_document(paths.PIN)["components"]["schemas"]
    merged = merged_spec()["components"]["schemas"]
    for name, schema in merged.items():
        assert set(schema.get("required", [])) <= set(pin[name].get("required", [])), name
