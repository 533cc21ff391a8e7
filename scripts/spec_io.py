"""Reading and writing OpenAPI documents, so every script agrees on bytes and errors."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from hubspot_postal_mail._config import is_loopback

Document = dict[str, Any]


class SpecError(Exception):
    """A problem with an input document, worded for the person running the script."""


def load_document(source: str | Path) -> Document:
    """Load JSON or YAML from a file path or an http(s) URL."""
    return parse_document(read_source(source), source)


def parse_document(data: bytes, source: str | Path) -> Document:
    """Parse the bytes of a JSON or YAML document read from ``source``."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError(f"{source}: not UTF-8 text") from None
    try:
        parsed = yaml.safe_load(text)  # YAML is a superset of JSON
    except yaml.YAMLError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SpecError(f"{source}: not valid JSON or YAML ({reason})") from None
    if not isinstance(parsed, dict):
        raise SpecError(f"{source}: top level is {type(parsed).__name__}, expected an object")
    return parsed


def read_source(source: str | Path) -> bytes:
    """The raw bytes of a file path or URL; plain http only to this machine (loopback)."""
    text = str(source)
    parts = urllib.parse.urlsplit(text)
    if parts.scheme in ("http", "https"):
        if parts.scheme == "http" and not is_loopback(parts.hostname or ""):
            raise SpecError(f"{source}: plain http is only allowed to loopback; use https")
        try:
            with urllib.request.urlopen(text, timeout=30) as response:  # noqa: S310
                body: bytes = response.read()
        except (OSError, ValueError) as exc:
            raise SpecError(f"{source}: could not download ({exc})") from None
        return body
    if parts.scheme not in ("", "file") and not _is_windows_drive(parts.scheme):
        raise SpecError(f"{source}: unsupported URL scheme {parts.scheme!r}")
    path = Path(urllib.parse.unquote(parts.path) if parts.scheme == "file" else text)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SpecError(f"{source}: cannot read ({exc.strerror})") from None


def _is_windows_drive(scheme: str) -> bool:
    return len(scheme) == 1 and scheme.isalpha()


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
