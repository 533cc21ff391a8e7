"""The change report between two contracts: one record per change, as Markdown or JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

BREAKING = "breaking"
SAFE = "safe"


@dataclass
class Change:
    """One semantic difference, worded for people and keyed for machines."""

    kind: str
    severity: str
    where: str
    what: str
    reason: str
    direction: str | None = None
    old: Any = None
    new: Any = None
    # Other places that reach the same changed schema (a shared schema is reported once).
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
                lines += [f"{heading}# {title}", "", *map(_markdown_item, group), ""]
        return "\n".join(lines)


def _markdown_item(change: Change) -> str:
    also = f" (also via {'; '.join(change.also)})" if change.also else ""
    return f"- **{change.where}**{also}: {change.what}. _{change.reason}_"
