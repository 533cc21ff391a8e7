"""Apply OpenAPI Overlay 1.0 documents (JSONPath targets, ``update`` and ``remove`` actions).

An action whose target matches nothing is an error, not a no-op: it means the pinned spec
moved under the overlay, and a deviation we rely on has silently stopped applying.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonpath

from scripts.spec_io import Document, SpecError, load_document


def apply_overlay(document: Document, overlay: Document, *, name: str = "overlay") -> Document:
    """Return a copy of ``document`` with every action of ``overlay`` applied in order."""
    if not str(overlay.get("overlay", "")).startswith("1."):
        raise SpecError(f"{name}: not an Overlay 1.x document (missing 'overlay: 1.0.0')")
    result = copy.deepcopy(document)
    for index, action in enumerate(overlay.get("actions") or [], start=1):
        where = f"{name} action {index} ({action.get('target')!r})"
        if not action.get("description"):
            raise SpecError(f"{where}: every action must say why in 'description'")
        try:
            matches = list(jsonpath.finditer(action["target"], result))
        except (KeyError, jsonpath.JSONPathError) as exc:
            raise SpecError(f"{where}: bad target ({exc})") from None
        if not matches:
            raise SpecError(f"{where}: target matches nothing in the pinned spec")
        if action.get("remove"):
            # Delete from the end so that list indexes of later matches stay valid.
            for match in reversed(matches):
                parent = match.parent.obj if match.parent else None
                key = match.parts[-1]
                if isinstance(parent, list):
                    del parent[int(key)]
                elif isinstance(parent, dict):
                    del parent[key]
        elif "update" in action:
            for match in matches:
                _merge(match.obj, copy.deepcopy(action["update"]), where)
        else:
            raise SpecError(f"{where}: needs 'update' or 'remove: true'")
    return result


def _merge(target: Any, update: Any, where: str) -> None:
    if isinstance(target, list):
        target.append(update)
    elif isinstance(target, dict) and isinstance(update, dict):
        for key, value in update.items():
            if isinstance(target.get(key), dict) and isinstance(value, dict):
                _merge(target[key], value, where)
            else:
                target[key] = value
    else:
        raise SpecError(f"{where}: cannot update a {type(target).__name__} with an object")


def apply_overlays(document: Document, paths: list[Path]) -> Document:
    for path in paths:
        document = apply_overlay(document, load_document(path), name=path.name)
    return document
