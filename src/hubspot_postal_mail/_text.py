"""Wording for the person at the terminal: counted nouns, and text from outside made harmless.

Ids, file names and HubSpot's messages come from outside; printed raw, an escape sequence in
them can clear the screen, retitle the window or hide what follows, and a line break splits one
failure into two. :func:`visible` shows such characters as escapes (``\\x1b``, ``\\n``) instead.
"""

from __future__ import annotations

# C0 controls, DEL and C1 controls; then the Unicode controls that reorder or break lines
# (bidirectional overrides and isolates, marks, line and paragraph separators).
_ESCAPES: dict[int, str] = {
    code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F, *range(0x80, 0xA0))
}
_ESCAPES.update({0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"})
_ESCAPES.update(
    {
        code: f"\\u{code:04x}"
        for code in (0x200E, 0x200F, 0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
    }
)

_PLURALS = {"retry": "retries", "entry": "entries"}


def visible(text: str) -> str:
    """``text`` with every control character shown as an escape, so it prints as one plain line."""
    return text.translate(_ESCAPES)


def plural(count: int, noun: str) -> str:
    """``1 record``, ``2 records``, ``0 retries``."""
    return f"{count} {noun if count == 1 else _PLURALS.get(noun, noun + 's')}"
