"""Run one transaction on a fresh py-evm state, the way geth's tracer test runner does.

The alloc is written into an empty state and persisted (so EIP-1283/2200 see it as the original
values), the block environment becomes py-evm's execution context (DIFFICULTY before the Merge,
the mix hash as PREVRANDAO after it, no BLOCKHASH history), and the raw signed transaction is
applied with every validity check. The receipt's gas is what geth's top frame reports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import rlp
from eth._utils.address import generate_contract_address
from eth.constants import BLANK_ROOT_HASH, CREATE_CONTRACT_ADDRESS, ZERO_HASH32
from eth.db.atomic import AtomicDB
from eth.exceptions import PyEVMError
from eth.vm.execution_context import ExecutionContext
from eth.vm.forks.prague.constants import MAGIC as SET_CODE_MAGIC
from eth_keys.datatypes import Signature
from eth_keys.exceptions import BadSignature
from eth_typing import Address, BlockNumber, Hash32
from eth_utils.exceptions import ValidationError
from rlp.exceptions import RLPException

from timemachine.chain.hardforks import is_at_least
from timemachine.errors import InvalidInputError
from timemachine.hexutil import hex_to_bytes, quantity
from timemachine.models import BlockEnv
from timemachine.pyevm.forks import vm_class
from timemachine.pyevm.frames import Frame, call_tracer_json
from timemachine.pyevm.prestate import diff_json, prestate_json
from timemachine.pyevm.reads import Reads, reading_state_class, start_recording
from timemachine.pyevm.sends import spoofed_transaction
from timemachine.pyevm.tracing import Account, Recorder, geth_error, traced_state_class


@dataclass(frozen=True)
class TransactionCase:
    """One transaction to run: the state before it, its block, and the signed transaction."""

    hardfork: str
    chain_id: int
    block: BlockEnv
    alloc: Mapping[str, Mapping[str, Any]]
    """geth genesis alloc: address -> {balance, nonce, code, storage}; other keys are ignored."""
    raw_tx: str


@dataclass(frozen=True)
class Execution:
    """What the transaction did, readable as geth's tracers."""

    gas_used: int
    """The receipt's gas used (refunds subtracted)."""
    root: Frame
    before: Mapping[bytes, Account]
    after: Mapping[bytes, Account]
    created: frozenset[bytes]
    deleted: frozenset[bytes]

    def call_tracer(self, *, with_log: bool = False, only_top_call: bool = False) -> dict[str, Any]:
        return call_tracer_json(self.root, with_log=with_log, only_top_call=only_top_call)

    def prestate_tracer(self, *, diff_mode: bool = False) -> dict[str, Any]:
        created = set(self.created)
        if diff_mode:
            return diff_json(self.before, self.after, created, set(self.deleted))
        return prestate_json(self.before, created)


def execute(case: TransactionCase) -> Execution:
    """Run `case` on a fresh in-memory state under its hardfork's py-evm VM."""
    return BlockState(case.hardfork, case.chain_id, case.block, case.alloc).apply(case.raw_tx)


class BlockState:
    """A py-evm state at the start of a block (`alloc` under `block`'s environment) on which
    transactions run one after the other, as in that block."""

    def __init__(
        self,
        hardfork: str,
        chain_id: int,
        block: BlockEnv,
        alloc: Mapping[str, Mapping[str, Any]],
        *,
        reads: Reads | None = None,
        prev_hashes: Sequence[bytes] = (),
    ) -> None:
        """`reads` (set: record what the block reads, see pyevm/reads.py); `prev_hashes`: the
        hashes BLOCKHASH answers, parent first (geth's tracer runner gives none)."""
        self.hardfork = hardfork
        self.chain_id = chain_id
        self.vm = cast(Any, vm_class(hardfork))
        self.context = ExecutionContext(
            coinbase=Address(_address(block.coinbase)),
            timestamp=block.timestamp,
            block_number=BlockNumber(block.number),
            difficulty=block.difficulty,
            mix_hash=Hash32(hex_to_bytes(block.prevrandao) or ZERO_HASH32),
            gas_limit=block.gas_limit,
            prev_hashes=tuple(Hash32(item) for item in prev_hashes),
            chain_id=chain_id,
            base_fee_per_gas=block.base_fee if is_at_least(hardfork, "london") else None,
            excess_blob_gas=(block.excess_blob_gas or 0)
            if is_at_least(hardfork, "cancun")
            else None,
        )
        state_class = traced_state_class(self.vm) if reads is None else reading_state_class(self.vm)
        self.state = state_class(AtomicDB(), self.context, BLANK_ROOT_HASH)
        _load(self.state, alloc)
        if reads is not None:
            start_recording(self.state, reads)

    def decode(self, raw_tx: str) -> Any:
        """The signed transaction of `raw_tx` (InvalidInputError when it is not one)."""
        try:
            tx = self.vm.get_transaction_builder().decode(hex_to_bytes(raw_tx) or b"")
            _ = tx.sender
        except (PyEVMError, ValidationError, RLPException, ValueError) as error:
            raise InvalidInputError(f"py-evm cannot decode the transaction: {error}") from error
        return tx

    def edit(self, address: str, field: str, value: Any) -> None:
        """Overwrite one account field before the block: balance, nonce, code, or storage (a
        `(slot, value)` pair), as the anvil_set* calls do."""
        state, canonical = self.state, Address(_address(address))
        if field == "balance":
            state.set_balance(canonical, quantity(value) or 0)
        elif field == "nonce":
            state.set_nonce(canonical, quantity(value) or 0)
        elif field == "code":
            state.set_code(canonical, hex_to_bytes(value) or b"")
        else:
            slot, word = value
            state.set_storage(canonical, quantity(slot) or 0, quantity(word) or 0)
        state.persist()

    def sent(self, params: Mapping[str, Any]) -> Any:
        """The transaction an `eth_sendTransaction` of `params` sends (as its `from`)."""
        return spoofed_transaction(self.vm, params, self.chain_id)

    def apply(self, raw_tx: str) -> Execution:
        """Run the next transaction of the block; its changes stay for the ones after it."""
        return self.run(self.decode(raw_tx))

    def run(self, tx: Any) -> Execution:
        """Run `tx` (decoded or `sent`) as the next transaction of the block."""
        state, context = self.state, self.context
        sender = tx.sender
        recorder = Recorder(
            state,
            deletes_only_new_accounts=is_at_least(self.hardfork, "cancun"),
            follows_delegations=is_at_least(self.hardfork, "prague"),
        )
        cast(Any, state).tm_recorder = recorder
        creates = tx.to == CREATE_CONTRACT_ADDRESS
        # geth's prestate tracer looks these up when the transaction starts, before the
        # authorizations of a set-code transaction apply (so a delegation the transaction itself
        # installs on `to` is not followed).
        recorder.look_account(sender)
        if creates:
            recorder.look_account(generate_contract_address(sender, state.get_nonce(sender)))
        else:
            recorder.look_callee(tx.to)
        recorder.look_account(context.coinbase)
        set_code = getattr(tx, "type_id", None) == SET_CODE_TYPE
        authorizations = tx.authorization_list if set_code else ()
        for authorization in authorizations:
            authority = _authority(authorization)
            if authority is not None:
                recorder.look_account(authority)
        try:
            computation = cast(Any, state.apply_transaction(tx))
        except (PyEVMError, ValidationError) as error:
            raise InvalidInputError(f"py-evm refuses the transaction: {error}") from error
        gas_used = int(self.vm.finalize_gas_used(tx, computation))
        root = _frame(computation, "CREATE" if creates else "CALL")
        root.sender, root.gas, root.gas_used = bytes(sender), tx.gas, gas_used
        after = {
            address: Account(
                existed=False,
                balance=state.get_balance(Address(address)),
                nonce=state.get_nonce(Address(address)),
                code=state.get_code(Address(address)),
                storage={
                    slot: state.get_storage(Address(address), slot) for slot in account.storage
                },
            )
            for address, account in recorder.accounts.items()
        }
        # geth commits after every transaction: the next one's original values are these.
        state.persist()
        return Execution(
            gas_used=gas_used,
            root=root,
            before=dict(recorder.accounts),
            after=after,
            created=frozenset(recorder.created),
            deleted=frozenset(recorder.deleted),
        )


def _load(state: Any, alloc: Mapping[str, Mapping[str, Any]]) -> None:
    for address, account in alloc.items():
        canonical = _address(address)
        state.set_balance(canonical, quantity(account.get("balance")) or 0)
        state.set_nonce(canonical, quantity(account.get("nonce")) or 0)
        code = hex_to_bytes(account.get("code"))
        if code:
            state.set_code(canonical, code)
        for slot, value in (account.get("storage") or {}).items():
            number = quantity(value) or 0
            if number:
                state.set_storage(canonical, quantity(slot) or 0, number)
    # geth's runner commits the alloc and reopens it: original storage values come from there.
    state.persist()


def _frame(computation: Any, kind: str) -> Frame:
    """The frame of one computation and, in order, of every call it made."""
    msg = computation.msg
    error = geth_error(computation.error if computation.is_error else None)
    output = bytes(computation.output)
    if error is None and msg.is_create and not output and computation.tm_returned_output:
        output = bytes(computation.tm_returned_output)
    frame = Frame(
        type=kind,
        sender=bytes(msg.sender),
        to=bytes(msg.storage_address),
        input=bytes(msg.code if msg.is_create else msg.data),
        gas=msg.gas,
        value=msg.value,
        gas_used=computation.get_gas_used(),
        output=output,
        error=error,
    )
    if kind in ("DELEGATECALL", "CALLCODE"):
        # geth: from is the contract making the call, to the code it runs.
        frame.sender, frame.to = bytes(msg.storage_address), bytes(msg.code_address)
    for call in computation.tm_calls:
        frame.calls.append(call if isinstance(call, Frame) else _frame(call, call.tm_type))
    frame.logs = list(computation.tm_logs)
    return frame


SET_CODE_TYPE = 4


def _authority(authorization: Any) -> bytes | None:
    """The account that signed an EIP-7702 authorization (None when its signature does not
    recover, which geth's tracer skips as well)."""
    message = SET_CODE_MAGIC + rlp.encode(
        [authorization.chain_id, authorization.address, authorization.nonce]
    )
    try:
        signature = Signature(vrs=(authorization.y_parity, authorization.r, authorization.s))
        return bytes(signature.recover_public_key_from_msg(message).to_canonical_address())
    except (BadSignature, ValidationError, ValueError):
        return None


def _address(text: str) -> bytes:
    data = hex_to_bytes(text)
    if data is None or len(data) != 20:
        raise InvalidInputError(f"not an address: {text!r}")
    return data
