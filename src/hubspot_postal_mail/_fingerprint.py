"""The fingerprint of a record's properties: what the sync state compares to decide a record
is unchanged (see :mod:`._state`).

A 16-byte blake2b digest of the properties sorted by name, independent of their order. It is
computed once per record of every rerun, so it avoids JSON when it can: names and values joined
with NUL separators are unambiguous unless a NUL is inside one of them, which the separator
count reveals; then canonical JSON is hashed under another personalisation, so the two forms
cannot produce the same digest. Changing the digest of any input is a new state format.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from operator import itemgetter
from typing import Any

FINGERPRINT = "blake2b-128 of sorted NUL-joined properties, JSON when a NUL is in them"
FINGERPRINT_BYTES = 16

# blake2b personalisations: the two encodings never collide. Hashers are copied from these:
# building one with its parameters costs twice as much as copying it.
_JOINED = hashlib.blake2b(digest_size=FINGERPRINT_BYTES, person=b"hpm-state-nul1")
_JSON = hashlib.blake2b(digest_size=FINGERPRINT_BYTES, person=b"hpm-state-json1")
_canonical_json = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode

# Names in a record's own order -> (its values in sorted-name order, a template that joins them
# with the names). The records of one input share a few orders, so sorting is done once per
# order, not per record. Bounded: an input whose empties are left out has one order per
# combination of empties.
_Plan = tuple[Callable[[Mapping[str, Any]], Any], str]
_PLANS: dict[tuple[str, ...], _Plan] = {}
_MAX_PLANS = 512


def fingerprint(properties: Mapping[str, str]) -> bytes:
    """The digest of ``properties`` (names and values are strings, as sent)."""
    names = tuple(properties)
    plan = _PLANS.get(names)
    if plan is None:
        plan = _plan(names)
    values, template = plan
    joined = template % values(properties)
    if len(names) and joined.count("\x00") == 2 * len(names) - 1:
        hasher = _JOINED.copy()
        hasher.update(joined.encode("utf-8", "surrogatepass"))
    else:  # a NUL inside a name or a value, or no property at all
        hasher = _JSON.copy()
        hasher.update(_canonical_json(dict(properties)).encode("ascii"))
    return hasher.digest()


def _plan(names: tuple[str, ...]) -> _Plan:
    ordered = sorted(names)
    if not ordered:
        plan: _Plan = ((lambda _properties: ()), "")
    else:
        # itemgetter of one name gives the value, of several a tuple: both fit the template.
        template = "\x00".join(f"{name.replace('%', '%%')}\x00%s" for name in ordered)
        plan = (itemgetter(*ordered), template)
    if len(_PLANS) >= _MAX_PLANS:
        _PLANS.clear()
    _PLANS[names] = plan
    return plan
