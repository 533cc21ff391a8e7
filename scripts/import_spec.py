"""Import HubSpot's published spec into our normalised, pinned form.

Only the batch-upsert operation and what it references survive; upstream prose,
examples and ``x-hubspot-*`` extensions are dropped (HubSpot does not license them
for redistribution), lists whose order carries no meaning are sorted, and keys are
ordered so that two imports of the same contract give the same bytes.

Usage: python -m scripts.import_spec UPSTREAM [--prose-from PIN] [-o OUT]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jsonschema.exceptions import ValidationError
from openapi_spec_validator import validate
from openapi_spec_validator.exceptions import OpenAPISpecValidatorError

from scripts.spec_io import Document, SpecError, dump_yaml, load_document

OPERATION_SUFFIX = "postal_mail/batch/upsert"
METHOD = "post"

# Keys dropped wherever they are OpenAPI keywords (never when they name a property).
_PROSE_KEYS = frozenset({"description", "summary", "example", "examples", "externalDocs"})
# Keywords whose value maps user-chosen names to objects of the same kind.
_NAME_MAPS = frozenset(
    {
        "properties",
        "schemas",
        "responses",
        "content",
        "paths",
        "securitySchemes",
        "headers",
        "patternProperties",
        "definitions",
        "encoding",
        "callbacks",
        "requestBodies",
        "parameters",
    }
)
_UNORDERED_LISTS = frozenset({"required", "enum"})
_TOP_ORDER = ("openapi", "info", "servers", "security", "tags", "paths", "components")
# OpenAPI requires a description on each response; these are ours, not HubSpot's.
_RESPONSE_WORDS = {
    "200": "Every input was created or updated.",
    "207": "Some inputs were written and some failed; the failures are listed in errors.",
    "default": "The request failed as a whole.",
}
_DEFAULT_INFO = {
    "title": "HubSpot postal mail batch upsert",
    "description": (
        "The project's pinned contract for one HubSpot operation, normalised from HubSpot's "
        "published document by scripts/import_spec.py."
    ),
}


class NoOperation(SpecError):
    """The document is valid but has no concrete batch-upsert path for postal mail."""


def import_document(upstream: Document, *, prose_from: Document | None = None) -> Document:
    """Return the normalised contract of the batch-upsert operation in ``upstream``."""
    _check_refs(upstream)
    _validate(upstream)
    path, item = _find_operation(upstream)
    operation = item[METHOD]
    components: dict[str, Any] = {}
    for section, name in sorted(_referenced(upstream, item)):
        components.setdefault(section, {})[name] = upstream["components"][section][name]
    schemes = _security_schemes(upstream, operation)
    if schemes:
        components["securitySchemes"] = schemes
    tags = [t for t in upstream.get("tags", []) if t.get("name") in operation.get("tags", [])]
    doc: dict[str, Any] = {
        "openapi": upstream["openapi"],
        "info": {**_DEFAULT_INFO, "version": str(upstream.get("info", {}).get("version", ""))},
        "servers": [{"url": s["url"]} for s in upstream.get("servers", []) if "url" in s],
        "tags": [{"name": t["name"]} for t in tags],
        "paths": {path: item},
        "components": components,
    }
    if "security" in upstream:
        doc["security"] = upstream["security"]
    clean = _canonical(_strip(doc))
    for code, response in clean["paths"][path][METHOD]["responses"].items():
        if "$ref" not in response:
            response["description"] = _RESPONSE_WORDS.get(code, f"HTTP {code}.")
    for name, response in clean["components"].get("responses", {}).items():
        response["description"] = _RESPONSE_WORDS["default"] if name == "Error" else name
    if prose_from is not None:
        _carry_prose(prose_from, clean)
    clean["info"]["version"] = str(upstream.get("info", {}).get("version", ""))
    return {k: clean[k] for k in _TOP_ORDER if k in clean and clean[k] != []}


def _find_operation(doc: Document) -> tuple[str, dict[str, Any]]:
    """The batch-upsert path and its path item, keeping only the POST operation."""
    paths: dict[str, Any] = doc.get("paths") or {}
    found = [p for p, op in paths.items() if p.endswith("/" + OPERATION_SUFFIX) and METHOD in op]
    if len(found) > 1:
        raise SpecError(f"several batch-upsert paths, cannot choose: {', '.join(sorted(found))}")
    if found:
        path = found[0]
        if "{" in path:
            raise NoOperation(
                f"the batch-upsert path {path!r} is a template: the pin needs a concrete path"
            )
        # Path-level parameters belong to the contract; the other methods do not.
        item = {k: v for k, v in paths[path].items() if k in ("parameters", METHOD)}
        return path, item
    templated = [
        p
        for p, item in paths.items()
        if re.search(r"/\{[^}]+\}/batch/upsert$", p) and METHOD in item
    ]
    if templated:
        raise NoOperation(
            f"found only the templated path {templated[0]!r}: this tool pins the postal_mail "
            "operation and cannot place a path whose object type is a parameter"
        )
    raise NoOperation(f"no POST operation on a path ending in {OPERATION_SUFFIX!r}")


def _walk_refs(node: Any, where: str = "#") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value, where
            else:
                yield from _walk_refs(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk_refs(value, f"{where}/{i}")


def _resolve(doc: Document, ref: str) -> Any:
    if not ref.startswith("#/"):
        raise SpecError(f"external $ref {ref!r} is not supported")
    node: Any = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise KeyError(ref)
    return node


def _check_refs(doc: Document) -> None:
    for ref, where in _walk_refs(doc):
        try:
            _resolve(doc, ref)
        except KeyError:
            raise SpecError(f"dangling $ref {ref!r} at {where}: no such component") from None


def _validate(doc: Document) -> None:
    """Validate with openapi-spec-validator, turning its findings into one line."""
    version = str(doc.get("openapi", ""))
    if not version.startswith("3."):
        found = f"'openapi: {version}'" if version else "no 'openapi' field"
        raise SpecError(f"invalid OpenAPI document: expected OpenAPI 3.x, found {found}")
    try:
        validate(doc)
    except (ValidationError, OpenAPISpecValidatorError) as exc:
        parts = getattr(exc, "absolute_path", None) or []
        where = "#/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)
        message = str(getattr(exc, "message", "") or exc or type(exc).__name__)
        raise SpecError(f"invalid OpenAPI document at {where}: {_short(message)}") from None


def _short(message: str) -> str:
    """The validator's first line, without the dump of the offending value it may start with."""
    first = message.splitlines()[0] if message else "invalid"
    cut = first.rfind(" is not ")
    if first[:1] in "{[" and cut > 0:
        first = "the value" + first[cut:]
    return first if len(first) <= 200 else first[:197] + "..."


def _referenced(doc: Document, start: Any) -> set[tuple[str, str]]:
    """Every (section, name) component reachable from ``start``, following $refs."""
    seen: set[tuple[str, str]] = set()
    todo = [ref for ref, _ in _walk_refs(start)]
    while todo:
        ref = todo.pop()
        parts = ref[2:].split("/") if ref.startswith("#/") else []
        if len(parts) < 3 or parts[0] != "components":
            raise SpecError(f"cannot carry $ref {ref!r}: only #/components/... targets are kept")
        key = (parts[1], parts[2].replace("~1", "/").replace("~0", "~"))
        if key in seen:
            continue
        seen.add(key)
        todo.extend(r for r, _ in _walk_refs(doc["components"][key[0]][key[1]]))
    return seen


def _security_schemes(doc: Document, operation: dict[str, Any]) -> dict[str, Any]:
    requirements: list[dict[str, list[str]]] = (
        operation["security"] if "security" in operation else doc.get("security", [])
    )
    declared = doc.get("components", {}).get("securitySchemes", {})
    used: dict[str, set[str]] = {}
    for requirement in requirements:
        for name, scopes in requirement.items():
            used.setdefault(name, set()).update(scopes)
    schemes: dict[str, Any] = {}
    for name, wanted in used.items():
        if name not in declared:
            raise SpecError(f"security requirement names undeclared scheme {name!r}")
        scheme = dict(declared[name])
        if "flows" in scheme:
            scheme["flows"] = {
                flow: {**spec, "scopes": {s: "" for s in sorted(wanted)}}
                for flow, spec in scheme["flows"].items()
            }
        schemes[name] = scheme
    return schemes


def _strip(node: Any, *, names: bool = False) -> Any:
    """Drop prose and vendor extensions; ``names`` marks a map of user-chosen names."""
    if isinstance(node, list):
        return [_strip(v) for v in node]
    if not isinstance(node, dict):
        return node
    if names:
        return {k: _strip(v) for k, v in node.items()}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _PROSE_KEYS or key.startswith("x-hubspot-"):
            continue
        if key == "scopes" and isinstance(value, dict):
            out[key] = {scope: "" for scope in value}
        else:
            out[key] = _strip(value, names=key in _NAME_MAPS)
    return out


def _canonical(node: Any, key: str | None = None) -> Any:
    if isinstance(node, dict):
        return {k: _canonical(node[k], k) for k in sorted(node)}
    if isinstance(node, list):
        items = [_canonical(v) for v in node]
        if key in _UNORDERED_LISTS and all(isinstance(v, str) for v in items):
            return sorted(items)
        if key == "security":
            return [{k: sorted(v) for k, v in req.items()} for req in items]
        return items
    return node


def _carry_prose(old: Any, new: Any, *, top: bool = True) -> None:
    """Keep our own descriptions where the same place exists in both documents.

    The single pinned operation keeps its prose when upstream moves it to another path.
    """
    if top and isinstance(old, dict) and isinstance(new, dict):
        old_paths, new_paths = old.get("paths"), new.get("paths")
        if (
            isinstance(old_paths, dict)
            and isinstance(new_paths, dict)
            and len(old_paths) == len(new_paths) == 1
            and old_paths.keys() != new_paths.keys()
        ):
            old = {**old, "paths": dict(zip(new_paths, old_paths.values(), strict=True))}
    if isinstance(old, dict) and isinstance(new, dict):
        for key, value in old.items():
            if key in ("description", "summary", "title") and isinstance(value, str):
                new[key] = value
            elif key in new:
                _carry_prose(value, new[key], top=False)
        items = sorted(new.items())
        new.clear()
        new.update(items)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("upstream", help="HubSpot's published spec: a file path or a URL")
    parser.add_argument("--prose-from", type=Path, help="keep descriptions from this pin")
    parser.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    args = parser.parse_args(argv)
    try:
        prose = load_document(args.prose_from) if args.prose_from else None
        text = dump_yaml(import_document(load_document(args.upstream), prose_from=prose))
    except SpecError as exc:
        print(f"import_spec: {exc}", file=sys.stderr)
        return 1
    except RecursionError:
        print("import_spec: the document nests too deeply (or refers to itself)", file=sys.stderr)
        return 1
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
