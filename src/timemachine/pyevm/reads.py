"""What an execution read from the state: the accounts, slots and block hashes it asked for.

A py-evm fork of an upstream starts from the state it knows and runs the block; every account,
storage slot and BLOCKHASH it read is recorded here, so what was not known can be fetched from
the upstream and the block run again (pyevm/upstream.py). The recording is a subclass of the
VM's account database, made once per VM per process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any, cast

from eth.abc import StateAPI, VirtualMachineAPI
from eth_typing import Address

from timemachine.pyevm.tracing import traced_state_class


@dataclass
class Reads:
    accounts: set[bytes] = field(default_factory=set)
    slots: set[tuple[bytes, int]] = field(default_factory=set)
    block_numbers: set[int] = field(default_factory=set)
    """Blocks whose hash BLOCKHASH asked for."""


def start_recording(state: StateAPI, reads: Reads) -> None:
    """Record every read of `state` from now on into `reads` (a `reading_state_class` state)."""
    cast(Any, state)._account_db.tm_reads = reads
    cast(Any, state).tm_reads = reads


@cache
def reading_state_class(vm: type[VirtualMachineAPI]) -> type[StateAPI]:
    """`vm`'s traced state class (pyevm/tracing.py) whose account reads are recorded."""
    traced = traced_state_class(vm)
    base = traced.get_account_db_class()

    def encoded_account(self: Any, address: bytes, from_journal: bool = True) -> bytes:
        if self.tm_reads is not None:
            self.tm_reads.accounts.add(bytes(address))
        return cast(bytes, base._get_encoded_account(self, address, from_journal))  # type: ignore[attr-defined]

    def get_storage(self: Any, address: bytes, slot: int, from_journal: bool = True) -> int:
        if self.tm_reads is not None:
            self.tm_reads.accounts.add(bytes(address))
            self.tm_reads.slots.add((bytes(address), slot))
        return base.get_storage(self, Address(address), slot, from_journal)

    account_db = type(
        f"Reading{base.__name__}",
        (base,),
        {"tm_reads": None, "_get_encoded_account": encoded_account, "get_storage": get_storage},
    )
    return cast(
        "type[StateAPI]",
        type(f"Reading{traced.__name__}", (traced,), {"account_db_class": account_db}),
    )
