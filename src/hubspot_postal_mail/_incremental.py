"""Send only what changed: the run's use of the sync state (:mod:`._state`), no I/O of its own.

The rule for each valid record: when no earlier line of its id is still pending or in flight,
and its fingerprint equals what HubSpot last confirmed for the id, it is ``unchanged`` and not
sent. Otherwise it is sent. So an unchanged rerun sends nothing for an id whose lines are all
alike; an id whose lines differ (A then B) has each line sent, every run, because what HubSpot
holds between them is not the state's to know. The last line still wins.

Around each request the state keeps its one promise, that a row exists only if HubSpot holds
those values: the ids of a batch are forgotten before it is sent (HubSpot may apply it from the
moment it leaves), confirmed after HubSpot's 200/207 for them, restored when HubSpot surely
wrote nothing (the input was refused, a 429, or it was never sent), and left out when the
outcome is unknown (a timeout, a 5xx given up): a rerun then sends them again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from ._answers import Item
from ._fingerprint import fingerprint
from ._report import Category, Outcome, RecordResult
from ._state import Confirmed, State

WRITTEN = frozenset({Outcome.CREATED, Outcome.UPDATED})


class Incremental:
    """What one run asks of the state, in the order the run asks it."""

    def __init__(self, state: State, *, full: bool = False) -> None:
        self.state = state
        self.full = full  # send everything; the state is refreshed all the same
        self._forgotten: dict[str, Confirmed] = {}  # ids in flight -> their entry before

    def decide(
        self, items: Sequence[Item], busy: Callable[[str], bool] | None
    ) -> tuple[list[Item], list[Item]]:
        """Split ``items`` (in input order) into those to send and those ``unchanged``.

        ``busy(id)``: an earlier line of the id is pending or in flight (None: no line is). An
        item sent here makes its id busy for the items after it, so the caller queues them as
        it goes.
        """
        prints = []
        for item in items:
            item.fingerprint = print_ = fingerprint(item.rec.properties)
            prints.append(print_)
        if self.full:
            return list(items), []
        free: Sequence[int]
        if busy is None:
            free = range(len(items))
            differ = self.state.changed([item.rec.id for item in items], prints)
        else:
            free = [n for n, item in enumerate(items) if not busy(item.rec.id)]
            differ = self.state.changed([items[n].rec.id for n in free], [prints[n] for n in free])
        if not differ and len(free) == len(items):
            return [], list(items)  # every one as confirmed, and none waits for another
        alike = {n for k, n in enumerate(free) if k not in differ}
        send: list[Item] = []
        unchanged: list[Item] = []
        queued: set[str] = set()
        for n, item in enumerate(items):
            if n in alike and item.rec.id not in queued:
                unchanged.append(item)
            else:
                send.append(item)
                queued.add(item.rec.id)
        return send, unchanged

    def object_ids(self, items: Sequence[Item]) -> dict[str, str]:
        """HubSpot's object ids of these records' ids, for their report lines."""
        return self.state.object_ids([item.rec.id for item in items]) if items else {}

    def before_send(self, batch: Iterable[Item]) -> None:
        self._forgotten.update(self.state.forget([item.rec.id for item in batch]))

    def settled(
        self, results: Iterable[tuple[Item, RecordResult, bool]], unresolved: Iterable[Item]
    ) -> None:
        """Confirm what HubSpot wrote; restore what it surely did not; forget the unknown."""
        confirmed: list[tuple[str, bytes, str | None]] = []
        restore: dict[str, Confirmed] = {}
        for item, result, final in results:
            before = self._forgotten.pop(item.rec.id, None)
            if result.outcome in WRITTEN:
                assert item.fingerprint is not None
                confirmed.append((item.rec.id, item.fingerprint, result.object_id))
            elif before is not None and (final or _never_processed(result)):
                restore[item.rec.id] = before
        for item in unresolved:  # never sent
            if (before := self._forgotten.pop(item.rec.id, None)) is not None:
                restore[item.rec.id] = before
        self.state.confirm(confirmed)
        self.state.restore(restore)


def _never_processed(result: RecordResult) -> bool:
    """A 429 after the last retry: HubSpot refused the request before looking at it."""
    return result.error is not None and result.error.category == Category.RATE_LIMITS
