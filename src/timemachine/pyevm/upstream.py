"""The state a py-evm fork of an upstream starts from: read as the block asks for it.

The fork runs its block on what it knows; every account, slot and block hash the run read but
did not know is fetched from the upstream at the parent block in one batched request, and the
block runs again, until a run reads nothing new (a run is exact once everything it read was
known). Replays fork through the state gateway, which the engine seeds with the upstream's own
prestateTracer of the block when it offers one (`debug_traceBlockByNumber`): those reads are then
answered locally, and only what the tracer did not list reaches the upstream.
"""

from __future__ import annotations

from typing import Any

from timemachine.hexutil import hex_to_bytes, quantity
from timemachine.ports import ChainRPC
from timemachine.pyevm.reads import Reads

BLOCKHASH_WINDOW = 256
_ZERO_HASH = bytes(32)


class UpstreamState:
    """What is known of the state at `parent` (the fork's block) and of the hashes before it."""

    def __init__(self, rpc: ChainRPC, parent: int) -> None:
        self.rpc = rpc
        self.parent = parent
        self.alloc: dict[str, dict[str, Any]] = {}
        """geth genesis alloc of every account known so far."""
        self.hashes: dict[int, bytes] = {}
        self.round_trips = 0
        self._accounts: set[bytes] = set()
        self._slots: set[tuple[bytes, int]] = set()

    def prev_hashes(self) -> tuple[bytes, ...]:
        """BLOCKHASH's answers, parent first, as far back as a hash is known (unknown: zero,
        which a run asking for it never keeps: the hash is fetched and the block runs again)."""
        if not self.hashes:
            return ()
        depth = self.parent - min(self.hashes) + 1
        return tuple(self.hashes.get(self.parent - d, _ZERO_HASH) for d in range(depth))

    async def complete(self, reads: Reads) -> bool:
        """Fetch what `reads` asked for and was not known, in one batch; False when nothing
        was missing (the run that made `reads` was exact)."""
        accounts = sorted(reads.accounts - self._accounts)
        slots = sorted(reads.slots - self._slots)
        oldest = self.parent - BLOCKHASH_WINDOW + 1
        numbers = sorted(
            n for n in reads.block_numbers if oldest <= n <= self.parent and n not in self.hashes
        )
        if not (accounts or slots or numbers):
            return False
        tag = hex(self.parent)
        calls: list[tuple[str, list[Any]]] = []
        for address in accounts:
            text = "0x" + address.hex()
            calls += [
                ("eth_getBalance", [text, tag]),
                ("eth_getTransactionCount", [text, tag]),
                ("eth_getCode", [text, tag]),
            ]
        calls += [("eth_getStorageAt", ["0x" + a.hex(), hex(s), tag]) for a, s in slots]
        calls += [("eth_getBlockByNumber", [hex(n), False]) for n in numbers]
        self.round_trips += 1
        answers = iter(await self.rpc.batch(calls))
        for address in accounts:
            self._learn_account(address, next(answers), next(answers), next(answers))
        for address, slot in slots:
            self._learn_slot(address, slot, next(answers))
        for number in numbers:
            block = next(answers) or {}
            self.hashes[number] = hex_to_bytes(block.get("hash")) or _ZERO_HASH
        return True

    def learn_hash(self, number: int, block_hash: str | None) -> None:
        if block_hash:
            self.hashes[number] = hex_to_bytes(block_hash) or _ZERO_HASH

    def _learn_account(self, address: bytes, balance: Any, nonce: Any, code: Any) -> None:
        entry = self._entry(address)
        entry.update({"balance": hex(quantity(balance) or 0), "nonce": hex(quantity(nonce) or 0)})
        entry["code"] = code or "0x"
        self._accounts.add(address)

    def _learn_slot(self, address: bytes, slot: int, value: Any) -> None:
        self._entry(address)["storage"][hex(slot)] = value or "0x0"
        self._slots.add((address, slot))

    def _entry(self, address: bytes) -> dict[str, Any]:
        return self.alloc.setdefault("0x" + address.hex(), {"storage": {}})
