"""Which records go next: the run's bookkeeping, no I/O.

Pending records are queued per id in input order. A batch takes the oldest pending record of
each id not already in flight, so two inputs with the same id never share a request, and a
record never overtakes an earlier one with its id: the last occurrence in the input is the last
one written. Every occurrence is sent (none is coalesced away): if a later one is refused by
HubSpot, the value of the last accepted one stays, exactly as if the lines were sent one by one.
"""

from __future__ import annotations

from collections import deque

from ._answers import Item


class Scheduler:
    """Per-id queues of pending records, the ids in flight, and finished positions."""

    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size
        self.pending: dict[str, deque[Item]] = {}  # id -> its unsent records, in input order
        self.pending_records = 0
        self.in_flight: set[str] = set()
        self.in_flight_records = 0
        self.blocked = 0  # pending ids that are in flight

    def busy(self, key: str) -> bool:
        """A record with this id is pending or in flight."""
        return key in self.pending or key in self.in_flight

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

    def release(self, batch: list[Item]) -> None:
        """The batch is answered: its ids may go out again."""
        for item in batch:
            self.in_flight.discard(item.rec.id)
            if item.rec.id in self.pending:
                self.blocked -= 1
        self.in_flight_records -= len(batch)
