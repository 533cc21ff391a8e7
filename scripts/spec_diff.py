"""Semantic change report between two versions of the batch-upsert contract.

Both sides (our pin or HubSpot's published JSON, a file or a URL) are first normalised by
``scripts.import_spec``, so prose, examples and key or list order never show up as changes.
Each change is classified in ``POLICY`` for the users of *this* client: ``breaking`` when code
written against the old contract can stop working, ``safe`` otherwise. What the client sends
(request) and what it reads (response) are judged in opposite directions. Schemas are followed
through ``$ref``, so a change inside a shared schema is reported where it is reached from (once,
with every other place that reaches it).

Usage: python -m scripts.spec_diff OLD NEW [--format markdown|json]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from scripts.change_report import BREAKING, SAFE, Change, Report
from scripts.import_spec import import_document
from scripts.spec_io import Document, SpecError, dump_json, load_document

REQUEST, RESPONSE = "request", "response"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Formats that change the Python type openapi-python-client generates for a string.
TYPED_FORMATS = frozenset({"date-time", "date", "binary", "uuid"})
# Constraint keywords, and whether a larger value is tighter ("up"), looser ("down"), or any
# change should count as tighter ("any").
CONSTRAINTS = {
    "minLength": "up",
    "minItems": "up",
    "minProperties": "up",
    "minimum": "up",
    "uniqueItems": "up",
    "maxLength": "down",
    "maxItems": "down",
    "maxProperties": "down",
    "maximum": "down",
    "pattern": "any",
    "multipleOf": "any",
    "exclusiveMinimum": "any",
    "exclusiveMaximum": "any",
}
COMPOSITIONS = ("allOf", "oneOf", "anyOf")
# This client authenticates with one bearer token; these schemes accept one.
BEARER_SCHEMES = frozenset({"oauth2", "openIdConnect"})

_UNAFFECTED = "Existing code is unaffected."
_REFUSED = "The server may refuse what callers sent before."
_RETYPED = "The generated attribute's Python type changes."

# The whole classification, in one place: "kind[:case]" -> (severity, why).
POLICY: dict[str, tuple[str, str]] = {
    "operation-removed": (BREAKING, "Calls to it fail."),
    "operation-added": (SAFE, _UNAFFECTED),
    "path-changed": (BREAKING, "A client generated from the old pin keeps calling the old path."),
    "operation-id-changed": (
        SAFE,
        "The generated function's name is fixed by openapi/overlays/10-names.yaml.",
    ),
    "parameter-removed": (BREAKING, "The generated function loses an argument callers pass."),
    "parameter-added:required": (BREAKING, "Existing calls do not pass it."),
    "parameter-added:optional": (SAFE, "Callers may omit it."),
    "required-added": (BREAKING, "Existing calls may not send it."),
    "required-removed": (SAFE, "Callers may omit it."),
    "request-body-added:required": (BREAKING, "Existing calls send no body."),
    "request-body-added:optional": (SAFE, "Callers may omit it."),
    "request-body-removed": (BREAKING, "The body callers send is no longer read."),
    "response-added": (
        SAFE,
        "The client now parses this status into its own model; callers should handle it.",
    ),
    "response-removed": (BREAKING, "The client no longer parses this status into a model."),
    "media-type-added": (SAFE, _UNAFFECTED),
    "media-type-removed": (BREAKING, "Bodies of this type are no longer described."),
    "security-requirement-added": (SAFE, "Another way to authenticate; the others still work."),
    "security-requirement-removed:usable": (BREAKING, "Tokens accepted only this way fail."),
    "security-requirement-removed:unused": (
        SAFE,
        "This client never authenticates this way (it sends a bearer token).",
    ),
    "security-scheme-changed": (BREAKING, "This client authenticates with a bearer token only."),
    "security-scope-added:usable": (BREAKING, "Tokens without this scope are refused."),
    "security-scope-added:unused": (SAFE, "This client never authenticates this way."),
    "security-scope-removed": (SAFE, "Fewer permissions are needed."),
    "schema-changed": (BREAKING, "The generated type of this body changes."),
    "schema-renamed": (BREAKING, "The generated model class is renamed."),
    "type-changed": (BREAKING, _RETYPED),
    "nullable-added:request": (SAFE, _UNAFFECTED),
    "nullable-added:response": (BREAKING, "Callers may now receive None."),
    "nullable-removed:request": (BREAKING, "Callers that send null are refused."),
    "nullable-removed:response": (SAFE, _UNAFFECTED),
    "format-changed:typed": (BREAKING, _RETYPED),
    "format-changed:tighter": (BREAKING, _REFUSED),
    "format-changed:looser": (SAFE, "The generated type is the same and nothing is refused."),
    "enum-added:request": (BREAKING, _REFUSED),
    "enum-added:response": (SAFE, "Generated str-valued enum members equal the old strings."),
    "enum-removed:request": (SAFE, _UNAFFECTED),
    "enum-removed:response": (BREAKING, "The generated enum class disappears."),
    "enum-value-added:request": (SAFE, "Callers may send it."),
    "enum-value-added:response": (
        SAFE,
        "This client keeps unknown values as members with is_known False; listed so callers "
        "can handle the new value.",
    ),
    "enum-value-removed:request": (BREAKING, _REFUSED),
    "enum-value-removed:response": (
        BREAKING,
        "The generated enum loses the member; code that names it fails.",
    ),
    "property-removed:request": (BREAKING, "Callers that set it can no longer."),
    "property-removed:response": (BREAKING, "Code that reads it loses it."),
    "property-added:request-required": (BREAKING, "Existing requests lack it."),
    "property-added:request-optional": (SAFE, _UNAFFECTED),
    "property-added:response": (SAFE, _UNAFFECTED),
    "property-required:request": (BREAKING, "Existing requests may lack it."),
    "property-required:response": (SAFE, _UNAFFECTED),
    "property-optional:request": (SAFE, _UNAFFECTED),
    "property-optional:response": (
        BREAKING,
        "Responses may omit it; the generated attribute can be UNSET.",
    ),
    "additional-properties-changed:tighter": (BREAKING, "The server may refuse extra keys."),
    "additional-properties-changed:looser": (SAFE, "More is accepted."),
    "additional-properties-changed:retyped": (
        BREAKING,
        "The generated type of extra values changes.",
    ),
    "additional-properties-changed:same": (
        SAFE,
        "The generated model keeps extra keys either way.",
    ),
    "composition-changed": (BREAKING, "The generated union type changes."),
    "constraint-changed:tighter": (BREAKING, _REFUSED),
    "constraint-changed:looser": (SAFE, "More is accepted."),
    "constraint-changed:unchecked": (SAFE, "The client does not check this constraint."),
}

Security = dict[frozenset[str], dict[str, set[str]]]


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
        self._visits: dict[tuple[str | None, str | None, str], _Visit] = {}

    def add(
        self,
        rule: str,
        where: str,
        what: str,
        *,
        direction: str | None = None,
        old: Any = None,
        new: Any = None,
    ) -> None:
        severity, reason = POLICY[rule]
        kind = rule.split(":")[0]
        change = Change(kind, severity, where, what, reason, direction, old, new)
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
        # One operation that left a path and one that arrived on another, same method: moved.
        for method in sorted({m for m, _ in gone}):
            old_keys = [k for k in gone if k[0] == method]
            new_keys = [k for k in came if k[0] == method]
            if len(old_keys) == len(new_keys) == 1:
                pairs.append((old_keys[0], new_keys[0]))
                gone.remove(old_keys[0])
                came.remove(new_keys[0])
        for method, path in gone:
            self.add("operation-removed", f"{method.upper()} {path}", "operation removed")
        for method, path in came:
            self.add("operation-added", f"{method.upper()} {path}", "operation added")
        for old_key, new_key in sorted(pairs):
            self.operation(old_key[1], new_key, old_ops[old_key], new_ops[new_key])

    def operation(
        self, old_path: str, new_key: tuple[str, str], old: dict[str, Any], new: dict[str, Any]
    ) -> None:
        new_path = new_key[1]
        old_id, new_id = old.get("operationId"), new.get("operationId")
        if old_path != new_path:
            # Upstream's operationId embeds the path; when it only follows the path, say so here.
            follows = isinstance(old_id, str) and old_id.replace(old_path, new_path) == new_id
            note = " (upstream's operationId, which embeds the path, follows it)"
            what = f"path changed from `{old_path}` to `{new_path}`"
            what += note if follows and old_id != new_id else ""
            self.add("path-changed", "operation", what, old=old_path, new=new_path)
            old_id = new_id if follows else old_id
        if old_id != new_id:
            what = f"operationId changed from `{old_id}` to `{new_id}`"
            where = f"{new_key[0].upper()} {new_path}"
            self.add("operation-id-changed", where, what, old=old_id, new=new_id)
        self.parameters(old["parameters"], new["parameters"])
        self.request_body(old.get("requestBody"), new.get("requestBody"))
        self.responses(old.get("responses") or {}, new.get("responses") or {})
        self.security(_security(self.old, old), _security(self.new, new))

    def parameters(self, old_list: list[dict[str, Any]], new_list: list[dict[str, Any]]) -> None:
        old = {(p["in"], p["name"]): p for p in old_list}
        new = {(p["in"], p["name"]): p for p in new_list}
        for key in sorted(old.keys() | new.keys()):
            where = f"{key[0]} parameter `{key[1]}`"
            if key not in new:
                self.add("parameter-removed", where, "parameter removed", direction=REQUEST)
            elif key not in old:
                case = "required" if new[key].get("required") else "optional"
                rule = f"parameter-added:{case}"
                self.add(rule, where, f"parameter added ({case})", direction=REQUEST)
            else:
                self.required_flag(where, "parameter", old[key], new[key])
                self.schema(old[key].get("schema"), new[key].get("schema"), where, REQUEST)

    def request_body(self, old: Any, new: Any) -> None:
        old, new = _deref(self.old, old)[1], _deref(self.new, new)[1]
        where = "request body"
        if old is None and new is not None:
            case = "required" if new.get("required") else "optional"
            self.add(f"request-body-added:{case}", where, f"{where} added", direction=REQUEST)
        elif new is None and old is not None:
            self.add("request-body-removed", where, f"{where} removed", direction=REQUEST)
        elif old is not None and new is not None:
            self.required_flag(where, "body", old, new)
            self.content(old.get("content") or {}, new.get("content") or {}, where, REQUEST)

    def required_flag(
        self, where: str, noun: str, old: dict[str, Any], new: dict[str, Any]
    ) -> None:
        after = bool(new.get("required"))
        if bool(old.get("required")) != after:
            rule = "required-added" if after else "required-removed"
            what = f"{noun} now {'required' if after else 'optional'}"
            self.add(rule, where, what, direction=REQUEST)

    def responses(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        for code in sorted(old.keys() | new.keys(), key=_code_order):
            where = f"{code} response"
            if code not in new:
                self.add("response-removed", where, "response removed", direction=RESPONSE)
            elif code not in old:
                self.add("response-added", where, "response added", direction=RESPONSE)
            else:
                before = _deref(self.old, old[code])[1].get("content") or {}
                after = _deref(self.new, new[code])[1].get("content") or {}
                self.content(before, after, where, RESPONSE)

    def content(self, old: dict[str, Any], new: dict[str, Any], where: str, direction: str) -> None:
        for media in sorted(old.keys() | new.keys()):
            place = where if media == "application/json" else f"{where} ({media})"
            if media not in new:
                what = f"media type `{media}` removed"
                self.add("media-type-removed", place, what, direction=direction)
            elif media not in old:
                what = f"media type `{media}` added"
                self.add("media-type-added", place, what, direction=direction)
            else:
                self.schema(old[media].get("schema"), new[media].get("schema"), place, direction)

    # --- security ---------------------------------------------------------------------------

    def security(self, old: Security, new: Security) -> None:
        """Requirements are alternatives; the scopes inside one must all be granted."""
        old_schemes, new_schemes = _schemes(self.old), _schemes(self.new)
        for key in sorted(old.keys() | new.keys(), key=sorted):
            where = f"security requirement {' + '.join(sorted(key)) or '(none)'}"
            usable_before, usable_after = _usable(key, old_schemes), _usable(key, new_schemes)
            if key not in new:
                case = "usable" if usable_before else "unused"
                self.add(f"security-requirement-removed:{case}", where, "alternative removed")
                continue
            if key not in old:
                self.add("security-requirement-added", where, "alternative added")
                continue
            if usable_before and not usable_after:
                what = "no longer satisfiable with a bearer token"
                self.add("security-scheme-changed", where, what)
            case = "usable" if usable_after else "unused"
            for scheme in sorted(key):
                before, after = old[key][scheme], new[key][scheme]
                for scope in sorted(after - before):
                    what = f"scope `{scope}` now required by `{scheme}`"
                    self.add(f"security-scope-added:{case}", where, what, new=scope)
                for scope in sorted(before - after):
                    what = f"scope `{scope}` no longer required by `{scheme}`"
                    self.add("security-scope-removed", where, what, old=scope)

    # --- schemas ----------------------------------------------------------------------------

    def schema(self, old: Any, new: Any, where: str, direction: str, *, root: bool = True) -> None:
        """Compare two schemas, following $refs; a named pair is compared once per direction."""
        old_name, old = _deref(self.old, old)
        new_name, new = _deref(self.new, new)
        if old is None or new is None:
            if old is not new:
                what = "schema added" if old is None else "schema removed"
                self.add("schema-changed", where, what, direction=direction)
            return
        if old_name != new_name:
            before, after = old_name or "an inline schema", new_name or "an inline schema"
            what = f"schema changed from {before} to {after}"
            self.add("schema-renamed", where, what, direction=direction, old=old_name, new=new_name)
        name = new_name or old_name
        if name is None:
            self.schema_body(old, new, where, direction)
            return
        where = f"{where}{' schema ' if root else ' → '}{name}"
        key = (old_name, new_name, direction)
        visit = self._visits.get(key)
        if visit is None:
            visit = self._visits[key] = _Visit(where)
            self.schema_body(old, new, where, direction)
            visit.open = False
        elif not visit.open:
            for change in visit.changes:
                route = where + change.where[len(visit.prefix) :]
                if route != change.where and route not in change.also:
                    change.also.append(route)

    def schema_body(
        self, old: dict[str, Any], new: dict[str, Any], where: str, direction: str
    ) -> None:
        self.types(_types(old), _types(new), where, direction)
        self.formats(old.get("format"), new.get("format"), where, direction)
        self.enums(old.get("enum"), new.get("enum"), where, direction)
        self.properties(old, new, where, direction)
        if "items" in old or "items" in new:
            self.schema(old.get("items"), new.get("items"), f"{where}[]", direction, root=False)
        self.additional(
            old.get("additionalProperties", True),
            new.get("additionalProperties", True),
            where,
            direction,
        )
        for keyword in COMPOSITIONS:
            self.composition(
                keyword, old.get(keyword) or [], new.get(keyword) or [], where, direction
            )
        for keyword, tighter in CONSTRAINTS.items():
            self.constraint(keyword, tighter, old.get(keyword), new.get(keyword), where, direction)

    def types(self, old: frozenset[str], new: frozenset[str], where: str, direction: str) -> None:
        if old == new:
            return
        if old and new and old - {"null"} == new - {"null"}:
            nullable = "null" in new
            rule = f"nullable-{'added' if nullable else 'removed'}:{direction}"
            what = "may now be null" if nullable else "may no longer be null"
        else:
            rule, what = "type-changed", f"type changed from {_show(old)} to {_show(new)}"
        self.add(rule, where, what, direction=direction, old=sorted(old), new=sorted(new))

    def formats(self, old: Any, new: Any, where: str, direction: str) -> None:
        if old == new:
            return
        if old in TYPED_FORMATS or new in TYPED_FORMATS:
            case = "typed"
        else:
            case = "tighter" if direction == REQUEST and new is not None else "looser"
        what = f"format changed from {old or '(none)'} to {new or '(none)'}"
        self.add(f"format-changed:{case}", where, what, direction=direction, old=old, new=new)

    def enums(self, old: Any, new: Any, where: str, direction: str) -> None:
        if old is None and new is None:
            return
        if old is None or new is None:
            added = new is not None
            rule = f"enum-{'added' if added else 'removed'}:{direction}"
            what = "values now restricted to an enum" if added else "enum restriction removed"
            self.add(rule, where, what, direction=direction, old=old, new=new)
            return
        for value in sorted(set(new) - set(old), key=str):
            what = f"enum value `{value}` added"
            self.add(f"enum-value-added:{direction}", where, what, direction=direction, new=value)
        for value in sorted(set(old) - set(new), key=str):
            what = f"enum value `{value}` removed"
            rule = f"enum-value-removed:{direction}"
            self.add(rule, where, what, direction=direction, old=value)

    def properties(
        self, old: dict[str, Any], new: dict[str, Any], where: str, direction: str
    ) -> None:
        old_props, new_props = old.get("properties") or {}, new.get("properties") or {}
        old_req, new_req = set(old.get("required") or []), set(new.get("required") or [])
        for name in sorted(old_props.keys() | new_props.keys()):
            if name not in new_props:
                what = f"property `{name}` removed"
                self.add(
                    f"property-removed:{direction}", where, what, direction=direction, old=name
                )
            elif name not in old_props:
                required = "required" if name in new_req else "optional"
                case = f"{direction}-{required}" if direction == REQUEST else direction
                what = f"property `{name}` added ({required})"
                self.add(f"property-added:{case}", where, what, direction=direction, new=name)
            else:
                if (name in old_req) != (name in new_req):
                    now = name in new_req
                    rule = f"property-{'required' if now else 'optional'}:{direction}"
                    what = f"property `{name}` {'now required' if now else 'no longer required'}"
                    self.add(rule, where, what, direction=direction)
                place = f"{where}.{name}"
                self.schema(old_props[name], new_props[name], place, direction, root=False)

    def additional(self, old: Any, new: Any, where: str, direction: str) -> None:
        if isinstance(old, dict) and isinstance(new, dict):
            self.schema(old, new, f"{where}{{}}", direction, root=False)
            return
        if old == new:
            return
        if direction == REQUEST:
            looser = new is True or (isinstance(new, dict) and old is False)
            case = "looser" if looser else "tighter"
        else:
            case = "retyped" if isinstance(old, dict) or isinstance(new, dict) else "same"
        what = f"additionalProperties changed from {_brief(old)} to {_brief(new)}"
        self.add(f"additional-properties-changed:{case}", where, what, direction=direction)

    def composition(
        self, keyword: str, old: list[Any], new: list[Any], where: str, direction: str
    ) -> None:
        if len(old) != len(new):
            what = f"{keyword} changed from {len(old)} to {len(new)} alternatives"
            self.add("composition-changed", where, what, direction=direction)
            return
        for index, (before, after) in enumerate(zip(old, new, strict=True)):
            self.schema(before, after, f"{where}.{keyword}[{index}]", direction, root=False)

    def constraint(
        self, keyword: str, tighter: str, old: Any, new: Any, where: str, direction: str
    ) -> None:
        if old == new:
            return
        if direction == RESPONSE:
            case = "unchecked"
        elif tighter == "any" or old is None or new is None:
            case = "tighter" if new is not None else "looser"
        else:
            case = "tighter" if (new > old if tighter == "up" else new < old) else "looser"
        shown = [v if v is not None else "(none)" for v in (old, new)]
        what = f"{keyword} changed from {shown[0]} to {shown[1]}"
        self.add(f"constraint-changed:{case}", where, what, direction=direction, old=old, new=new)


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


def _security(doc: Document, op: dict[str, Any]) -> Security:
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
    if scheme.get("type") in BEARER_SCHEMES:
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
    return (0, code) if code[:1].isdigit() else (1, code)


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
