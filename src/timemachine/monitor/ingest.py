"""Ingestion: pending transactions from every provider of a chain, normalized into `PendingTx`,
de-duplicated by hash while remembering when each provider first showed each one. Malformed
notifications are counted per provider and skipped."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from timemachine.chain.streams import Chain, Source
from timemachine.hexutil import hex_to_bytes, quantity
from timemachine.monitor.models import PendingTx

SEEN_LIMIT = 100_000
"""Hashes remembered for de-duplication (oldest forgotten first)."""


class MalformedTxError(ValueError):
    """A provider's notification that is not a readable transaction."""


def _address(value: Any, what: str) -> str:
    if not isinstance(value, str) or len(value) != 42 or hex_to_bytes(value) is None:
        raise MalformedTxError(f"{what} is not an address: {value!r}")
    return value.lower()


def _int(raw: Mapping[str, Any], key: str, *, required: bool = True) -> int | None:
    value = raw.get(key)
    number = quantity(value)
    if (number is None and (required or value is not None)) or (number is not None and number < 0):
        raise MalformedTxError(f"{key} is not a quantity: {value!r}")
    return number


def normalize(chain: str, raw: Any) -> PendingTx:
    """A JSON-RPC transaction object as a `PendingTx` (MalformedTxError when it is not one)."""
    if not isinstance(raw, dict):
        raise MalformedTxError(f"not a transaction object: {str(raw)[:80]!r}")
    tx_hash = raw.get("hash")
    if not isinstance(tx_hash, str) or len(tx_hash) != 66 or hex_to_bytes(tx_hash) is None:
        raise MalformedTxError(f"hash is not 32 bytes of hex: {tx_hash!r}")
    to = raw.get("to")
    data = raw.get("input", raw.get("data", "0x")) or "0x"
    if not isinstance(data, str) or hex_to_bytes(data) is None:
        raise MalformedTxError("input is not hex")
    return PendingTx(
        chain=chain,
        hash=tx_hash.lower(),
        sender=_address(raw.get("from"), "from"),
        to=None if to is None else _address(to, "to"),
        nonce=_int(raw, "nonce") or 0,
        value=_int(raw, "value") or 0,
        gas=_int(raw, "gas") or 0,
        gas_price=_int(raw, "gasPrice", required=False),
        max_fee_per_gas=_int(raw, "maxFeePerGas", required=False),
        max_priority_fee_per_gas=_int(raw, "maxPriorityFeePerGas", required=False),
        type=_int(raw, "type", required=False) or 0,
        input=data.lower(),
        raw=raw,
    )


@dataclass
class ProviderCounts:
    """What one provider delivered."""

    delivered: int = 0
    first: int = 0
    """Transactions this provider showed before any other."""
    malformed: int = 0
    unresolved: int = 0
    """Bare hashes whose transaction the provider could not give."""
    last_seen: float = 0.0


@dataclass
class Ingestor:
    """De-duplicates normalized transactions across providers; counts per provider."""

    chain: str
    limit: int = SEEN_LIMIT
    providers: dict[str, ProviderCounts] = field(default_factory=dict)
    first_seen: OrderedDict[str, dict[str, float]] = field(default_factory=OrderedDict)

    def accept(self, provider: str, raw: Any, now: float) -> tuple[PendingTx | None, str | None]:
        """`(tx, None)` when `raw` shows a transaction for the first time, `(None, hash)` for a
        repeat (this provider's first sighting is recorded), `(None, None)` for a notification
        that is malformed or a bare hash (counted)."""
        counts = self.providers.setdefault(provider, ProviderCounts())
        counts.delivered += 1
        counts.last_seen = now
        if isinstance(raw, str):
            counts.unresolved += 1
            return None, None
        try:
            tx = normalize(self.chain, raw)
        except MalformedTxError:
            counts.malformed += 1
            return None, None
        sightings = self.first_seen.get(tx.hash)
        if sightings is not None:
            sightings.setdefault(provider, now)
            return None, tx.hash
        self.first_seen[tx.hash] = {provider: now}
        if len(self.first_seen) > self.limit:
            self.first_seen.popitem(last=False)
        counts.first += 1
        return tx, None

    def sightings(self, tx_hash: str) -> dict[str, float]:
        return self.first_seen.get(tx_hash, {})

    @property
    def malformed(self) -> int:
        return sum(counts.malformed for counts in self.providers.values())


Sighting = tuple[str, Any, float]
"""(provider label, the notification, unix time received)."""


class MonitorChain(Chain):
    """A `Chain` whose pending stream keeps the provider of every notification (the plain stream
    de-duplicates before the monitor could record who saw a transaction first)."""

    async def pending_by_provider(self) -> AsyncGenerator[Sighting, None]:
        """Every pending-transaction notification of every provider, as it arrives."""
        queue: asyncio.Queue[Sighting] = asyncio.Queue()

        async def feed(source: Source, put: Callable[[Any], Awaitable[None]]) -> None:
            async def tagged(item: Any) -> None:
                await put((source.label, item, time.time()))

            await self._pending_from(source, tagged, full=True)

        async with self._feeding(queue, feed):
            while True:
                yield await queue.get()
