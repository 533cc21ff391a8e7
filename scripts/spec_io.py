"""Reading and writing OpenAPI documents, so every script agrees on bytes and errors."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml

Document = dict[str, Any]


class SpecError(Exception):
    """A problem with an input document, worded for the person running the script."""


def load_document(source: str | Path) -> Document:
    """Load JSON or YAML from a file path or an http(s) URL."""
    text = _read_text(str(source))
    try:
        data = yaml.safe_load(text)  # YAML is a superset of JSON
    except yaml.YAMLError as exc:
        raise SpecError(f"{source}: not valid JSON or YAML ({exc})") from None
    if not isinstance(data, dict):
        raise SpecError(f"{source}: top level is {type(data).__name__}, expected an object")
    return data


def _read_text(source: str) -> str:
    scheme = urllib.parse.urlsplit(source).scheme
    if scheme in ("http", "https"):
        try:
            with urllib.request.urlopen(source, timeout=30) as response:  # noqa: S310
                body: bytes = response.read()
        except OSError as exc:
            raise SpecError(f"{source}: could not download ({exc})") from None
        return body.decode("utf-8")
    if scheme not in ("", "file"):
        raise SpecError(f"{source}: unsupported URL scheme {scheme!r}")
    path = Path(urllib.parse.urlsplit(source).path if scheme == "file" else source)
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"{source}: cannot read ({exc.strerror})") from None


def dump_yaml(document: Document) -> str:
    """Deterministic YAML: key order as given, no aliases, wide lines."""

    class _NoAliases(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    return yaml.dump(
        document,
        Dumper=_NoAliases,
        sort_keys=False,
        allow_unicode=True,
        width=100,
        default_flow_style=False,
    )


def dump_json(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
