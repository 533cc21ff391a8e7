"""Which records go next, and which positions are finished: the run's bookkeeping, no I/O.

Pending records are queued per id in input order. A batch takes the oldest pending record of
each id not already in flight, so two inputs with the same id never share a request, and a
record never overtakes an earlier one with its id: the last occurrence in the input is the last
one written. Every occurrence is sent (none is coalesced away): if a later one is refused by
HubSpot, the value of the last accepted one stays, exactly as if the lines were sent one by one.
"""

from __future__ import annotations

from collections import deque

from ._answers import Item
from ._report import Outcome, RecordResult

WRITTEN = frozenset({Outcome.CREATED, Outcome.UPDATED})


class Scheduler:
    """Per-id queues of pending records, the ids in flight, and finished positions."""

    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size
        self.pending: dict[str, deque[Item]] = {}  # id -> its unsent records, in input order
        self.pending_records = 0
        self.in_flight: set[str] = set()
        self.in_flight_records = 0
        self.blocked = 0  # pending ids that are in flight
        self.unsettled: dict[str, list[int]] = {}  # id -> positions whose fate is unknown
        self.finished: list[int] = []  # finished positions not yet in the checkpoint

    @property
    def eligible(self) -> int:
        """Ids with a record that could go in the next batch."""
        return len(self.pending) - self.blocked

    def add(self, item: Item) -> None:
        self.pending_records += 1
        queue = self.pending.get(item.rec.id)
        if queue is not None:
            queue.append(item)  # waits behind the earlier ones with its id
            return
        self.pending[item.rec.id] = deque([item])
        if item.rec.id in self.in_flight:
            self.blocked += 1

    def take_batch(self) -> list[Item]:
        batch: list[Item] = []
        for key, queue in self.pending.items():
            if key not in self.in_flight:
                batch.append(queue[0])
                if len(batch) >= self.batch_size:
                    break
        for item in batch:
            queue = self.pending[item.rec.id]
            queue.popleft()
            if queue:
                self.blocked += 1  # its next record waits for this one
            else:
                del self.pending[item.rec.id]
            self.in_flight.add(item.rec.id)
        self.pending_records -= len(batch)
        self.in_flight_records += len(batch)
        return batch

    def settle(self, item: Item, result: RecordResult, *, final: bool) -> None:
        """Note a record's fate: only a final one finishes its position.

        A record whose fate is unknown (retries ran out) stays unfinished, so a rerun sends it,
        until a later record with its id is *written*: that value supersedes it. A later record
        that HubSpot refuses supersedes nothing: the earlier value must still be written.
        """
        if not final:
            self.unsettled.setdefault(item.rec.id, []).append(item.seq)
            return
        self.finished.append(item.seq)
        if result.outcome in WRITTEN:
            self.finished.extend(self.unsettled.pop(item.rec.id, ()))

    def release(self, batch: list[Item]) -> None:
        """The batch is answered: its ids may go out again."""
        for item in batch:
            self.in_flight.discard(item.rec.id)
            if item.rec.id in self.pending:
                self.blocked -= 1
        self.in_flight_records -= len(batch)

    def take_finished(self) -> list[int]:
        finished, self.finished = self.finished, []
        return finished
