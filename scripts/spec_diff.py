"""Semantic change report between two versions of the batch-upsert contract.

Both sides (our pin or HubSpot's published JSON, a file or a URL) are first normalised by
``scripts.import_spec``, so prose, examples and key or list order never show up as changes.
Each change is classified for the users of *this* client: ``breaking`` when code written
against the old contract can stop working, ``safe`` otherwise. Schemas are followed through
``$ref`` so a change inside a shared schema is reported where it is reached from (and, once,
with every other place that reaches it).

Usage: python -m scripts.spec_diff OLD NEW [--format markdown|json]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from scripts.import_spec import import_document
from scripts.spec_io import Document, SpecError, dump_json, load_document

BREAKING = "breaking"
SAFE = "safe"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Formats that change the Python type openapi-python-client generates for a string.
TYPED_FORMATS = frozenset({"date-time", "date", "binary", "uuid"})
# Constraint keywords: (keyword, which way is tighter): "up" if a larger value is tighter.
_CONSTRAINTS = {
    "minLength": "up",
    "minItems": "up",
    "minProperties": "up",
    "minimum": "up",
    "maxLength": "down",
    "maxItems": "down",
    "maxProperties": "down",
    "maximum": "down",
    "pattern": "any",
    "multipleOf": "any",
    "exclusiveMinimum": "any",
    "exclusiveMaximum": "any",
    "uniqueItems": "up",
}
_COMPOSITIONS = ("allOf", "oneOf", "anyOf")
_BEARER_SCHEMES = frozenset({"oauth2", "openIdConnect"})


class Direction(StrEnum):
    """Which way data flows: what the client sends, or what it receives."""

    REQUEST = "request"
    RESPONSE = "response"


@dataclass
class Change:
    """One semantic difference, worded for people and keyed for machines."""

    kind: str
    severity: str
    where: str
    what: str
    reason: str
    old: Any = None
    new: Any = None
    also: list[str] = field(default_factory=list)


@dataclass
class Report:
    old: str
    new: str
    changes: list[Change]

    @property
    def breaking(self) -> list[Change]:
        return [c for c in self.changes if c.severity == BREAKING]

    @property
    def safe(self) -> list[Change]:
        return [c for c in self.changes if c.severity == SAFE]

    def to_json(self) -> dict[str, Any]:
        return {
            "old": self.old,
            "new": self.new,
            "breaking": len(self.breaking),
            "safe": len(self.safe),
            "changes": [asdict(c) for c in self.changes],
        }

    def to_markdown(self, *, heading: str = "##") -> str:
        lines = [f"{heading} Spec changes: `{self.old}` → `{self.new}`", ""]
        if not self.changes:
            return "\n".join([*lines, "No contract changes.", ""])
        lines += [f"{len(self.breaking)} breaking, {len(self.safe)} safe.", ""]
        for title, group in (("Breaking", self.breaking), ("Safe", self.safe)):
            if group:
                lines += [f"{heading}# {title}", ""]
                lines += [_markdown_item(c) for c in group]
                lines.append("")
        return "\n".join(lines)


def _markdown_item(change: Change) -> str:
    also = f" (also via {'; '.join(change.also)})" if change.also else ""
    return f"- **{change.where}**{also}: {change.what}. _{change.reason}_"


@dataclass
class _Visit:
    """A named-schema comparison: where it was first reached and the changes it found."""

    prefix: str
    changes: list[Change] = field(default_factory=list)
    open: bool = True


class _Differ:
    def __init__(self, old: Document, new: Document) -> None:
        self.old, self.new = old, new
        self.changes: list[Change] = []
        self._visits: dict[tuple[str | None, str | None, Direction], _Visit] = {}

    def add(
        self, kind: str, severity: str, where: str, what: str, reason: str, **values: Any
    ) -> None:
        change = Change(kind, severity, where, what, reason, values.get("old"), values.get("new"))
        self.changes.append(change)
        for visit in self._visits.values():
            if visit.open:
                visit.changes.append(change)

    # --- operations -------------------------------------------------------------------------

    def document(self) -> None:
        old_ops, new_ops = dict(_operations(self.old)), dict(_operations(self.new))
        gone = sorted(old_ops.keys() - new_ops.keys())
        came = sorted(new_ops.keys() - old_ops.keys())
        pairs = [(key, key) for key in sorted(old_ops.keys() & new_ops.keys())]
        for method in {m for m, _ in gone}:
            old_paths = [k for k in gone if k[0] == method]
            new_paths = [k for k in came if k[0] == method]
            if len(old_paths) == len(new_paths) == 1:
                pairs.append((old_paths[0], new_paths[0]))
                gone.remove(old_paths[0])
                came.remove(new_paths[0])
        for method, path in gone:
            self.add(
                "operation-removed",
                BREAKING,
                f"{method.upper()} {path}",
                "operation removed",
                "Calls to it fail.",
            )
        for method, path in came:
            self.add(
                "operation-added",
                SAFE,
                f"{method.upper()} {path}",
                "operation added",
                "Nothing existing changes.",
            )
        for old_key, new_key in sorted(pairs):
            self.operation(old_key, new_key, old_ops[old_key], new_ops[new_key])

    def operation(
        self,
        old_key: tuple[str, str],
        new_key: tuple[str, str],
        old: dict[str, Any],
        new: dict[str, Any],
    ) -> None:
        where = f"{new_key[0].upper()} {new_key[1]}"
        old_id, new_id = old.get("operationId"), new.get("operationId")
        if old_key[1] != new_key[1]:
            # Upstream's operationId embeds the path; when it only follows the path, say so here.
            follows = isinstance(old_id, str) and old_id.replace(old_key[1], new_key[1]) == new_id
            self.add(
                "path-changed",
                BREAKING,
                "operation",
                f"path changed from `{old_key[1]}` to `{new_key[1]}`"
                + (
                    " (upstream's operationId, which embeds the path, follows it)"
                    if follows and old_id != new_id
                    else ""
                ),
                "A client generated from the old pin keeps calling the old path.",
                old=old_key[1],
                new=new_key[1],
            )
            if follows:
                old_id = new_id
        if old_id != new_id:
            self.add(
                "operation-id-changed",
                SAFE,
                where,
                f"operationId changed from `{old_id}` to `{new_id}`",
                "The generated function's name is fixed by openapi/overlays/10-names.yaml.",
                old=old_id,
                new=new_id,
            )
        self.parameters(old, new)
        self.request_body(old.get("requestBody"), new.get("requestBody"))
        self.responses(old.get("responses") or {}, new.get("responses") or {})
        self.security(_security(self.old, old), _security(self.new, new))

    def parameters(self, old_op: dict[str, Any], new_op: dict[str, Any]) -> None:
        old = {(p["in"], p["name"]): p for p in old_op["parameters"]}
        new = {(p["in"], p["name"]): p for p in new_op["parameters"]}
        for key in sorted(old.keys() | new.keys()):
            where = f"{key[0]} parameter `{key[1]}`"
            if key not in new:
                self.add(
                    "parameter-removed",
                    BREAKING,
                    where,
                    "parameter removed",
                    "The generated function loses the argument callers pass.",
                )
            elif key not in old:
                required = bool(new[key].get("required"))
                self.add(
                    "parameter-added",
                    BREAKING if required else SAFE,
                    where,
                    f"parameter added ({'required' if required else 'optional'})",
                    "Existing calls do not pass it." if required else "Callers may omit it.",
                )
            else:
                self.required_flag(where, "parameter", old[key], new[key], Direction.REQUEST)
                self.schema(
                    old[key].get("schema"), new[key].get("schema"), where, Direction.REQUEST
                )

    def request_body(self, old: Any, new: Any) -> None:
        old, new = _deref(self.old, old)[1], _deref(self.new, new)[1]
        if old is None and new is None:
            return
        if old is None or new is None:
            required = bool((new or {}).get("required"))
            self.add(
                "request-body-added" if old is None else "request-body-removed",
                BREAKING if (old is not None or required) else SAFE,
                "request body",
                "request body added" if old is None else "request body removed",
                "Existing calls send no body, or a body that is no longer read.",
            )
            return
        self.required_flag("request body", "body", old, new, Direction.REQUEST)
        self.content(
            old.get("content") or {}, new.get("content") or {}, "request body", Direction.REQUEST
        )

    def responses(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        for code in sorted(old.keys() | new.keys(), key=_code_order):
            where = f"{code} response"
            if code not in new:
                self.add(
                    "response-removed",
                    BREAKING,
                    where,
                    "response removed",
                    "The client no longer parses this status into its model.",
                )
                continue
            if code not in old:
                self.add(
                    "response-added",
                    SAFE,
                    where,
                    "response added",
                    "The client now parses this status into its own model; "
                    "callers should handle it.",
                )
                continue
            old_r, new_r = _deref(self.old, old[code])[1], _deref(self.new, new[code])[1]
            self.content(
                old_r.get("content") or {}, new_r.get("content") or {}, where, Direction.RESPONSE
            )

    def content(
        self, old: dict[str, Any], new: dict[str, Any], where: str, direction: Direction
    ) -> None:
        for media in sorted(old.keys() | new.keys()):
            place = where if media == "application/json" else f"{where} ({media})"
            if media not in new:
                self.add(
                    "media-type-removed",
                    BREAKING,
                    place,
                    f"media type `{media}` removed",
                    "Bodies of this type are no longer described.",
                )
            elif media not in old:
                self.add(
                    "media-type-added",
                    SAFE,
                    place,
                    f"media type `{media}` added",
                    "Nothing existing changes.",
                )
            else:
                self.schema(old[media].get("schema"), new[media].get("schema"), place, direction)

    def required_flag(
        self, where: str, noun: str, old: dict[str, Any], new: dict[str, Any], direction: Direction
    ) -> None:
        before, after = bool(old.get("required")), bool(new.get("required"))
        if before != after:
            self.add(
                "required-added" if after else "required-removed",
                BREAKING if after and direction is Direction.REQUEST else SAFE,
                where,
                f"{noun} now {'required' if after else 'optional'}",
                "Existing calls may not send it." if after else "Callers may omit it.",
            )

    # --- security ---------------------------------------------------------------------------

    def security(
        self,
        old: dict[frozenset[str], dict[str, set[str]]],
        new: dict[frozenset[str], dict[str, set[str]]],
    ) -> None:
        old_schemes = _schemes(self.old)
        new_schemes = _schemes(self.new)
        for key in sorted(old.keys() | new.keys(), key=sorted):
            names = " + ".join(sorted(key)) or "(none)"
            where = f"security requirement {names}"
            usable_before = _usable(key, old_schemes)
            usable_after = _usable(key, new_schemes)
            if key not in new:
                self.add(
                    "security-requirement-removed",
                    BREAKING if usable_before else SAFE,
                    where,
                    "alternative removed",
                    "Tokens accepted only this way are refused."
                    if usable_before
                    else "This client never authenticates this way (it sends a bearer token).",
                )
                continue
            if key not in old:
                self.add(
                    "security-requirement-added",
                    SAFE,
                    where,
                    "alternative added",
                    "Another way to authenticate; existing ones still work.",
                )
                continue
            if usable_before and not usable_after:
                self.add(
                    "security-scheme-changed",
                    BREAKING,
                    where,
                    "no longer satisfiable with a bearer token",
                    "This client authenticates with a bearer token only.",
                )
            for scheme in sorted(key):
                before, after = old[key][scheme], new[key][scheme]
                for scope in sorted(after - before):
                    self.add(
                        "security-scope-added",
                        BREAKING if usable_after else SAFE,
                        where,
                        f"scope `{scope}` now required by `{scheme}`",
                        "Tokens without this scope are refused.",
                        new=scope,
                    )
                for scope in sorted(before - after):
                    self.add(
                        "security-scope-removed",
                        SAFE,
                        where,
                        f"scope `{scope}` no longer required by `{scheme}`",
                        "Fewer permissions are needed.",
                        old=scope,
                    )

    # --- schemas ----------------------------------------------------------------------------

    def schema(
        self, old: Any, new: Any, where: str, direction: Direction, *, root: bool = True
    ) -> None:
        old_name, old = _deref(self.old, old)
        new_name, new = _deref(self.new, new)
        if old is None or new is None:
            if old is not new:
                self.add(
                    "schema-changed",
                    BREAKING,
                    where,
                    "schema added" if old is None else "schema removed",
                    "The generated type of this body changes.",
                )
            return
        if old_name != new_name:
            self.add(
                "schema-renamed",
                BREAKING,
                where,
                f"schema changed from {old_name or 'an inline schema'} to "
                f"{new_name or 'an inline schema'}",
                "The generated model class is renamed.",
                old=old_name,
                new=new_name,
            )
        name = new_name or old_name
        if name is None:
            self.schema_body(old, new, where, direction)
            return
        where = f"{where}{' schema ' if root else ' → '}{name}"
        key = (old_name, new_name, direction)
        visit = self._visits.get(key)
        if visit is not None:
            if not visit.open:
                for change in visit.changes:
                    route = where + change.where[len(visit.prefix) :]
                    if route != change.where and route not in change.also:
                        change.also.append(route)
            return
        visit = self._visits[key] = _Visit(where)
        self.schema_body(old, new, where, direction)
        visit.open = False

    def schema_body(
        self, old: dict[str, Any], new: dict[str, Any], where: str, direction: Direction
    ) -> None:
        request = direction is Direction.REQUEST
        self.types(old, new, where, request)
        self.formats(old.get("format"), new.get("format"), where, request)
        self.enums(old.get("enum"), new.get("enum"), where, request)
        self.properties(old, new, where, request, direction)
        if "items" in old or "items" in new:
            self.schema(old.get("items"), new.get("items"), f"{where}[]", direction, root=False)
        self.additional(
            old.get("additionalProperties", True),
            new.get("additionalProperties", True),
            where,
            request,
            direction,
        )
        for keyword in _COMPOSITIONS:
            self.composition(
                keyword, old.get(keyword) or [], new.get(keyword) or [], where, direction
            )
        for keyword, tighter in _CONSTRAINTS.items():
            self.constraint(keyword, tighter, old.get(keyword), new.get(keyword), where, request)

    def types(self, old: dict[str, Any], new: dict[str, Any], where: str, request: bool) -> None:
        before, after = _types(old), _types(new)
        if before == after:
            return
        if before - {"null"} == after - {"null"} and before and after:
            nullable = "null" in after
            self.add(
                "nullable-changed",
                BREAKING if nullable != request else SAFE,
                where,
                "may now be null" if nullable else "may no longer be null",
                ("Callers may now receive None." if nullable else "Callers must not send null.")
                if nullable != request
                else "Nothing existing stops working.",
                old=sorted(before),
                new=sorted(after),
            )
            return
        self.add(
            "type-changed",
            BREAKING,
            where,
            f"type changed from {_show(before)} to {_show(after)}",
            "The generated attribute's type changes.",
            old=sorted(before),
            new=sorted(after),
        )

    def formats(self, old: Any, new: Any, where: str, request: bool) -> None:
        if old == new:
            return
        if old in TYPED_FORMATS or new in TYPED_FORMATS:
            severity, reason = BREAKING, "The generated attribute's Python type changes."
        elif request and new is not None:
            severity, reason = BREAKING, "The server may refuse values it accepted before."
        else:
            severity, reason = SAFE, "The generated type is the same and nothing is refused."
        self.add(
            "format-changed",
            severity,
            where,
            f"format changed from {old or '(none)'} to {new or '(none)'}",
            reason,
            old=old,
            new=new,
        )

    def enums(self, old: Any, new: Any, where: str, request: bool) -> None:
        if old is None and new is None:
            return
        if old is None or new is None:
            restricting = new is not None
            self.add(
                "enum-added" if restricting else "enum-removed",
                BREAKING if restricting == request else SAFE,
                where,
                "values now restricted to an enum" if restricting else "enum restriction removed",
                (
                    "The server may refuse values it accepted before."
                    if request
                    else "The generated enum class disappears."
                )
                if restricting == request
                else "Generated str-valued enums compare equal to the strings sent before.",
                old=old,
                new=new,
            )
            return
        for value in sorted(set(new) - set(old), key=str):
            self.add(
                "enum-value-added",
                SAFE,
                where,
                f"enum value `{value}` added",
                "Callers may send it."
                if request
                else "This client keeps unknown values as members with is_known False; listed so "
                "callers can handle the new value.",
                new=value,
            )
        for value in sorted(set(old) - set(new), key=str):
            self.add(
                "enum-value-removed",
                BREAKING,
                where,
                f"enum value `{value}` removed",
                "The server may refuse it."
                if request
                else "The generated enum loses the member; code that names it fails.",
                old=value,
            )

    def properties(
        self,
        old: dict[str, Any],
        new: dict[str, Any],
        where: str,
        request: bool,
        direction: Direction,
    ) -> None:
        old_props, new_props = old.get("properties") or {}, new.get("properties") or {}
        old_req, new_req = set(old.get("required") or []), set(new.get("required") or [])
        for name in sorted(old_props.keys() | new_props.keys()):
            if name not in new_props:
                self.add(
                    "property-removed",
                    BREAKING,
                    where,
                    f"property `{name}` removed",
                    "Callers that set it can no longer."
                    if request
                    else "Code that reads it loses it.",
                    old=name,
                )
            elif name not in old_props:
                required = name in new_req
                self.add(
                    "property-added",
                    BREAKING if request and required else SAFE,
                    where,
                    f"property `{name}` added ({'required' if required else 'optional'})",
                    "Existing requests lack it."
                    if request and required
                    else "Existing code is unaffected.",
                    new=name,
                )
            else:
                if (name in old_req) != (name in new_req):
                    now = name in new_req
                    self.add(
                        "property-required" if now else "property-optional",
                        BREAKING if now == request else SAFE,
                        where,
                        f"property `{name}` {'now required' if now else 'no longer required'}",
                        (
                            "Existing requests may lack it."
                            if now
                            else "Responses may omit it; the attribute can be UNSET."
                        )
                        if now == request
                        else "Existing code is unaffected.",
                        old=sorted(old_req),
                        new=sorted(new_req),
                    )
                self.schema(
                    old_props[name], new_props[name], f"{where}.{name}", direction, root=False
                )

    def additional(
        self, old: Any, new: Any, where: str, request: bool, direction: Direction
    ) -> None:
        if isinstance(old, dict) and isinstance(new, dict):
            self.schema(old, new, f"{where}{{}}", direction, root=False)
            return
        if old == new:
            return
        looser = new is True or (isinstance(new, dict) and old is False)
        if request:
            severity = SAFE if looser else BREAKING
            reason = "More is accepted." if looser else "The server may refuse extra keys."
        else:
            schema_changed = isinstance(old, dict) or isinstance(new, dict)
            severity = BREAKING if schema_changed else SAFE
            reason = (
                "The generated type of the extra values changes."
                if schema_changed
                else "The generated model keeps extra keys either way."
            )
        self.add(
            "additional-properties-changed",
            severity,
            where,
            f"additionalProperties changed from {_brief(old)} to {_brief(new)}",
            reason,
        )

    def composition(
        self, keyword: str, old: list[Any], new: list[Any], where: str, direction: Direction
    ) -> None:
        if len(old) != len(new):
            self.add(
                "composition-changed",
                BREAKING,
                where,
                f"{keyword} changed from {len(old)} to {len(new)} alternatives",
                "The generated union type changes.",
            )
            return
        for index, (before, after) in enumerate(zip(old, new, strict=True)):
            self.schema(before, after, f"{where}.{keyword}[{index}]", direction, root=False)

    def constraint(
        self, keyword: str, tighter: str, old: Any, new: Any, where: str, request: bool
    ) -> None:
        if old == new:
            return
        if tighter == "any" or old is None or new is None:
            tightened = new is not None
        else:
            tightened = new > old if tighter == "up" else new < old
        self.add(
            "constraint-changed",
            BREAKING if request and tightened else SAFE,
            where,
            f"{keyword} changed from {old if old is not None else '(none)'} to "
            f"{new if new is not None else '(none)'}",
            "The server may refuse values it accepted before."
            if request and tightened
            else "The client does not check this constraint.",
            old=old,
            new=new,
        )


def _operations(doc: Document) -> Iterator[tuple[tuple[str, str], dict[str, Any]]]:
    """Each operation, keyed by (method, path), with its path-level parameters merged in."""
    for path, item in (doc.get("paths") or {}).items():
        for method in METHODS:
            if isinstance(item, dict) and method in item:
                op = dict(item[method])
                op["parameters"] = _params(doc, item.get("parameters"), op.get("parameters"))
                yield (method, path), op


def _params(doc: Document, shared: Any, own: Any) -> list[dict[str, Any]]:
    """Effective parameters: path-level ones, overridden by operation-level ones."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for raw in [*(shared or []), *(own or [])]:
        param = _deref(doc, raw)[1]
        merged[(param["in"], param["name"])] = param
    return list(merged.values())


def _deref(doc: Document, node: Any) -> tuple[str | None, Any]:
    """Follow $ref chains; return the last component name seen and the target."""
    name: str | None = None
    seen: set[str] = set()
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if ref in seen or not ref.startswith("#/"):
            raise SpecError(f"cannot follow $ref {ref!r}")
        seen.add(ref)
        target: Any = doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                raise SpecError(f"dangling $ref {ref!r}")
            target = target[part]
        name, node = ref.rsplit("/", 1)[-1], target
    return name, node


def _security(doc: Document, op: dict[str, Any]) -> dict[frozenset[str], dict[str, set[str]]]:
    requirements = op["security"] if "security" in op else doc.get("security") or []
    return {
        frozenset(req): {scheme: set(scopes) for scheme, scopes in req.items()}
        for req in requirements
    }


def _schemes(doc: Document) -> dict[str, Any]:
    schemes: dict[str, Any] = (doc.get("components") or {}).get("securitySchemes") or {}
    return schemes


def _usable(requirement: frozenset[str], schemes: dict[str, Any]) -> bool:
    """Whether a client that sends one bearer token can satisfy this requirement."""
    if len(requirement) != 1:
        return not requirement
    scheme = schemes.get(next(iter(requirement))) or {}
    if scheme.get("type") in _BEARER_SCHEMES:
        return True
    return scheme.get("type") == "http" and str(scheme.get("scheme", "")).lower() == "bearer"


def _types(schema: dict[str, Any]) -> frozenset[str]:
    declared = schema.get("type")
    types = set(declared if isinstance(declared, list) else [declared] if declared else [])
    if schema.get("nullable"):
        types.add("null")
    return frozenset(types)


def _show(types: frozenset[str]) -> str:
    return " | ".join(sorted(types)) or "(any)"


def _brief(value: Any) -> str:
    return "a schema" if isinstance(value, dict) else str(value).lower()


def _code_order(code: str) -> tuple[int, str]:
    return (1, code) if not code[:1].isdigit() else (0, code)


def diff_documents(old: Document, new: Document) -> list[Change]:
    """Changes from ``old`` to ``new``; both should already be normalised."""
    differ = _Differ(old, new)
    differ.document()
    return differ.changes


def normalised(source: str) -> Document:
    """Load ``source`` and normalise it the way the pin is made (see scripts.import_spec)."""
    document = load_document(source)
    try:
        return import_document(document)
    except SpecError as exc:
        raise SpecError(f"{source}: {exc}") from None


def diff_sources(old: str, new: str) -> Report:
    return Report(old, new, diff_documents(normalised(old), normalised(new)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("old", help="the older document: our pin or HubSpot's JSON, path or URL")
    parser.add_argument("new", help="the newer document, likewise")
    parser.add_argument("--format", choices=("markdown", "json"), default="markdown")
    args = parser.parse_args(argv)
    try:
        report = diff_sources(args.old, args.new)
    except SpecError as exc:
        print(f"spec_diff: {exc}", file=sys.stderr)
        return 1
    except RecursionError:
        print("spec_diff: a document nests too deeply (or refers to itself)", file=sys.stderr)
        return 1
    if args.format == "json":
        sys.stdout.write(dump_json(report.to_json()))
    else:
        sys.stdout.write(report.to_markdown(heading="#"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
