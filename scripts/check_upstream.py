"""Look for a newer HubSpot document for the batch upsert; print "unchanged" or the change report.

HubSpot publishes its specs as a collection (a git repository) laid out as
``PublicApiSpecs/CRM/Postal Mail/Rollouts/<rollout>/<version>/postalMail.json``, where
``<version>`` is an API line: ``v3`` (numbered) or a date version such as ``2026-03``. For the
numbered line and for the date-versioned line, this finds the newest document that holds the
postal-mail batch upsert and compares it with the revision ``openapi/spec.lock`` records:

- the pin's own line: a document with another sha256 (a new revision, or a newer version of
  that line) is a change;
- a newer line than the pin's (the date-versioned line while the pin is on v3) is a change: the
  move every user has to make;
- an older line is not proposed.

The collection is a local folder (a checkout; each document's last commit is read from git) or
a URL base; over a URL, folders cannot be listed, so the versions HubSpot could have published
(v1-v9, every March and September from 2025 until a year from now) are probed under one rollout.

Exit status: 0 unchanged, 10 changed (the report is on stdout), 2 error (nothing decided).

Usage: python -m scripts.check_upstream [COLLECTION] [--rollout ID] [--json FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hubspot_postal_mail._config import is_loopback
from scripts import generate, paths
from scripts.change_report import Report
from scripts.import_spec import NoOperation, import_document
from scripts.spec_diff import diff_documents
from scripts.spec_io import SpecError, dump_json, load_document, parse_document

EXIT_UNCHANGED, EXIT_CHANGED, EXIT_ERROR = 0, 10, 2
DEFAULT_COLLECTION = (
    "https://raw.githubusercontent.com/HubSpot/HubSpot-public-api-spec-collection/main"
)
ROLLOUTS = "PublicApiSpecs/CRM/Postal Mail/Rollouts"
FILE_NAME = "postalMail.json"
DEFAULT_ROLLOUT = "424"
NUMBERED, DATED = "numbered", "date-versioned"
_NUMBERED = re.compile(r"v([1-9][0-9]?)")
_ROLLOUT = re.compile(r"[A-Za-z0-9_.-]+")
_DATED = re.compile(r"(20[0-9]{2})-(0[1-9]|1[0-2])")


def version_key(version: str) -> tuple[int, int, int] | None:
    """Order of API versions: every numbered one before every date version; None if neither."""
    if match := _NUMBERED.fullmatch(version):
        return (0, int(match[1]), 0)
    if match := _DATED.fullmatch(version):
        return (1, int(match[1]), int(match[2]))
    return None


def _known_key(version: str) -> tuple[int, int, int]:
    key = version_key(version)
    if key is None:
        raise SpecError(f"{version!r} is not an API version (v3, 2026-03, ...)")
    return key


def line_of(version: str) -> str:
    return NUMBERED if _known_key(version)[0] == 0 else DATED


def pinned_version(pin: dict[str, Any]) -> str:
    """The API version in the pin's one path (its segment that reads like a version)."""
    (path,) = pin["paths"]
    found = [segment for segment in str(path).split("/") if version_key(segment)]
    if len(found) != 1:
        raise SpecError(f"cannot tell the API version of the pinned path {path!r}")
    return found[0]


@dataclass
class Document:
    """One published document of the collection."""

    version: str
    location: str
    data: bytes
    commit: str | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class Finding:
    """A document that differs from the pin, with why it matters and what changed."""

    kind: str
    document: Document
    report: Report

    def to_json(self) -> dict[str, Any]:
        return {
            "line": self.document.version,
            "kind": self.kind,
            "document": self.document.location,
            "sha256": self.document.sha256,
            "commit": self.document.commit,
            "breaking": len(self.report.breaking),
            "safe": len(self.report.safe),
        }

    def to_markdown(self) -> str:
        doc = self.document
        facts = [f"`{doc.location}`", f"sha256 `{doc.sha256}`"]
        if doc.commit:
            facts.append(f"commit `{doc.commit}`")
        return "\n".join(
            [
                f"## {self.kind} ({doc.version})",
                "",
                "Document: " + ", ".join(facts) + ".",
                "",
                self.report.to_markdown(heading="###"),
            ]
        )


class Collection:
    """Where HubSpot's documents are: a local folder or a URL base."""

    def __init__(self, base: str, rollout: str = DEFAULT_ROLLOUT) -> None:
        self.base = base
        self.rollout = rollout
        self.is_url = urllib.parse.urlsplit(base).scheme in ("http", "https")

    def documents(self) -> list[Document]:
        """Every document of the batch-upsert object, one per version found."""
        return self._over_http() if self.is_url else self._on_disk()

    def _on_disk(self) -> list[Document]:
        root = Path(self.base)
        folder = root / ROLLOUTS
        if not folder.is_dir():
            raise SpecError(f"{self.base}: no folder {ROLLOUTS!r} (is this the spec collection?)")
        found = []
        for file in sorted(folder.glob(f"*/*/{FILE_NAME}")):
            version = file.parent.name
            # Locations end up in a workflow's commands and branch names: plain names only.
            if version_key(version) is None or not _ROLLOUT.fullmatch(file.parent.parent.name):
                continue
            relative = str(file.relative_to(root))
            found.append(
                Document(version, str(file), file.read_bytes(), _git_commit(root, relative))
            )
        return found

    def _over_http(self) -> list[Document]:
        found = []
        for version in _probable_versions(datetime.now(UTC)):
            relative = f"{ROLLOUTS}/{self.rollout}/{version}/{FILE_NAME}"
            url = self.base.rstrip("/") + "/" + urllib.parse.quote(relative)
            data = _download(url)
            if data is not None:
                found.append(Document(version, url, data))
        return found


def _probable_versions(now: datetime) -> list[str]:
    versions = [f"v{n}" for n in range(1, 10)]
    for year in range(2025, now.year + 2):
        for month in (3, 9):
            if (year, month) <= (now.year + 1, now.month):
                versions.append(f"{year}-{month:02d}")
    return versions


def _download(url: str) -> bytes | None:
    """The body at ``url``, or None when there is none (404); https, or http to loopback."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "http" and not is_loopback(parts.hostname or ""):
        raise SpecError(f"{url}: plain http is only allowed to loopback; use https")
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310
            body: bytes = response.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise SpecError(f"{url}: HTTP {exc.code}") from None
    except (OSError, ValueError) as exc:
        raise SpecError(f"{url}: could not download ({exc})") from None
    return body


def _git_commit(root: Path, relative: str) -> str | None:
    """The last commit that touched ``relative`` when ``root`` is a git checkout, else None."""
    try:
        result = subprocess.run(  # noqa: S603
            ["git", "-C", str(root), "log", "-1", "--format=%H", "--", relative],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", commit) else None


def newest_per_line(documents: list[Document]) -> tuple[dict[str, Document], list[str]]:
    """The newest document holding the operation on each line, and notes on those passed over.

    A document that cannot be read or fails validation stops everything (raises SpecError): a
    broken upstream needs a person, not a silent skip.
    """
    newest: dict[str, Document] = {}
    notes: list[str] = []
    for doc in sorted(documents, key=lambda d: version_key(d.version) or (0, 0, 0), reverse=True):
        line = line_of(doc.version)
        if line in newest:
            continue
        try:
            import_document(parse_document(doc.data, doc.location))
        except NoOperation as exc:
            notes.append(f"{doc.version}: passed over ({exc})")
            continue
        except SpecError as exc:
            raise SpecError(f"{doc.location}: {exc}") from None
        newest[line] = doc
    return newest, notes


def check(collection: Collection) -> tuple[list[Finding], list[str]]:
    """The documents that differ from the pinned revision, and what was looked at."""
    pin = load_document(paths.PIN)
    normalised_pin = import_document(pin)
    version = pinned_version(pin)
    key = _known_key(version)
    locked = (generate.read_lock().get("upstream") or {}).get("sha256")
    newest, notes = newest_per_line(collection.documents())
    if not newest:
        raise SpecError(f"{collection.base}: no document holds the postal mail batch upsert")
    pin_name = str(paths.PIN.relative_to(paths.ROOT))
    findings = []
    seen = [f"pin: {pin_name} on {version}, upstream sha256 {locked or 'not recorded'}"]
    for line, doc in sorted(newest.items()):
        seen.append(f"{line} line: newest {doc.version} at {doc.location} (sha256 {doc.sha256})")
        doc_key = _known_key(doc.version)
        if line == line_of(version):
            if doc_key < key or (doc_key == key and doc.sha256 == locked):
                continue
            kind = "New revision" if doc_key == key else "New version"
        elif doc_key > key:
            kind = "New API line"
        else:
            continue
        new = import_document(parse_document(doc.data, doc.location))
        report = Report(pin_name, doc.location, diff_documents(normalised_pin, new))
        findings.append(Finding(kind, doc, report))
    return findings, seen + notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "collection",
        nargs="?",
        default=DEFAULT_COLLECTION,
        help="HubSpot's spec collection: a local checkout or a URL base (default: %(default)s)",
    )
    parser.add_argument(
        "--rollout", default=DEFAULT_ROLLOUT, help="rollout folder probed over a URL"
    )
    parser.add_argument("--json", type=Path, help="also write the findings here, as JSON")
    args = parser.parse_args(argv)
    try:
        findings, seen = check(Collection(args.collection, args.rollout))
    except SpecError as exc:
        print(f"check-upstream: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except RecursionError:
        print("check-upstream: a document nests too deeply (or refers to itself)", file=sys.stderr)
        return EXIT_ERROR
    for line in seen:
        print(f"check-upstream: {line}", file=sys.stderr)
    if args.json:
        status = "changed" if findings else "unchanged"
        summary = {"status": status, "findings": [f.to_json() for f in findings]}
        args.json.write_text(dump_json(summary), encoding="utf-8")
    if not findings:
        print("unchanged")
        return EXIT_UNCHANGED
    print("# HubSpot published a newer document for the postal mail batch upsert\n")
    print("\n".join(f.to_markdown() for f in findings), end="")
    return EXIT_CHANGED


if __name__ == "__main__":
    sys.exit(main())
