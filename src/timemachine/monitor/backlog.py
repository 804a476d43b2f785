"""The bounded backlog of transactions waiting for a simulation.

It never holds more than `capacity`. When full, a new candidate displaces the lowest-priority one
waiting, or is shed itself if it ranks no higher: under load the effective filter tightens to the
most important transactions, and the backlog reports how far (`floor`) and how many were shed."""

from __future__ import annotations

import asyncio
import bisect
import itertools
from dataclasses import dataclass, field

from timemachine.monitor.models import MonitoredTx
from timemachine.monitor.prefilter import priority

Key = tuple[tuple[int, int], int]


@dataclass
class Backlog:
    capacity: int = 256
    shed: int = 0
    """Candidates dropped because the backlog was full of more important ones."""
    floor: int | None = None
    """The lowest priority rank a full backlog still holds (None: not under load)."""
    _items: list[tuple[Key, MonitoredTx]] = field(default_factory=list)
    _order: itertools.count[int] = field(default_factory=itertools.count)
    _ready: asyncio.Event = field(default_factory=asyncio.Event)

    def __len__(self) -> int:
        return len(self._items)

    def offer(self, record: MonitoredTx) -> bool:
        """Queue `record`; False when it was shed."""
        key: Key = (priority(record), -next(self._order))  # equal priority: oldest first
        if len(self._items) >= self.capacity:
            if key <= self._items[0][0]:
                self.shed += 1
                self.floor = self._items[0][0][0][0]
                return False
            self._items.pop(0)
            self.shed += 1
            self.floor = self._items[0][0][0][0] if self._items else None
        elif len(self._items) < self.capacity // 2:
            self.floor = None
        bisect.insort(self._items, (key, record), key=lambda item: item[0])
        self._ready.set()
        return True

    async def take(self) -> MonitoredTx:
        """The most important waiting transaction (waits for one)."""
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        return self._items.pop()[1]
