"""A py-evm state whose computations record geth's call frames and prestate lookups.

py-evm has no tracer hooks, so each VM's computation class is subclassed once per process: the
frame-making opcodes (CALL family, CREATE/CREATE2, SELFDESTRUCT) and the state-reading ones
(BALANCE, EXTCODE*, SLOAD, SSTORE) are wrapped, and child computations and log entries are
recorded in order. Per-execution data lives on a `Recorder` attached to the state.

Where py-evm makes no child computation but geth's tracer still shows a frame (a CALL or CREATE
refused by the depth or balance check, a CREATE colliding with an existing account) the frame is
synthesized with geth's values (the gas handed over, nothing used, geth's error string).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, cast

from eth import constants
from eth._utils.state import code_is_delegation_designation
from eth.abc import StateAPI, VirtualMachineAPI
from eth.exceptions import (
    ContractCreationCollision,
    FullStack,
    Halt,
    InsufficientStack,
    InvalidInstruction,
    InvalidJumpDestination,
    OutOfBoundsRead,
    OutOfGas,
    ReservedBytesInCode,
    Revert,
    VMError,
    WriteProtection,
)
from eth_typing import Address

from timemachine.pyevm.frames import REVERTED, Frame, Log
from timemachine.pyevm.precompile_errors import precompile_error

_CALLS = frozenset({"CALL", "CALLCODE", "DELEGATECALL", "STATICCALL"})
_CREATES = frozenset({"CREATE", "CREATE2"})
_ACCOUNT_READS = frozenset({"BALANCE", "EXTCODESIZE", "EXTCODECOPY", "EXTCODEHASH"})
_SLOT_ACCESSES = frozenset({"SLOAD", "SSTORE"})
_WRAPPED = _CALLS | _CREATES | _ACCOUNT_READS | _SLOT_ACCESSES
_WRAPPED |= {"SELFDESTRUCT", "RETURN", "BLOCKHASH"}


@dataclass
class Account:
    """An account as the prestate tracer first saw it."""

    existed: bool
    balance: int
    nonce: int
    code: bytes
    storage: dict[int, int] = field(default_factory=dict)


class Recorder:
    """What one execution touched: accounts and slots at first touch, creations, deletions."""

    def __init__(
        self,
        state: StateAPI,
        *,
        deletes_only_new_accounts: bool,
        follows_delegations: bool = False,
    ) -> None:
        self.state = state
        self.accounts: dict[bytes, Account] = {}
        self.created: set[bytes] = set()
        self.deleted: set[bytes] = set()
        self.deletes_only_new_accounts = deletes_only_new_accounts
        """Cancun's EIP-6780: SELFDESTRUCT deletes only an account created in the same tx."""
        self.follows_delegations = follows_delegations
        """Prague's EIP-7702: a call's target is looked up with the code it delegates to."""

    def look_account(self, address: bytes) -> None:
        if address in self.accounts:
            return
        state = self.state
        balance, nonce, code = (
            state.get_balance(Address(address)),
            state.get_nonce(Address(address)),
            state.get_code(Address(address)),
        )
        # geth's prestate tracer: an account exists when it has balance, nonce or code.
        existed = bool(balance or nonce or code)
        self.accounts[address] = Account(existed, balance, nonce, code)

    def look_callee(self, address: bytes) -> None:
        """A call's target and, under EIP-7702, the account its code delegates to (geth looks
        the delegate up from the target's code at the time of the call)."""
        self.look_account(address)
        if self.follows_delegations:
            code = self.state.get_code(Address(address))
            if code_is_delegation_designation(code):
                self.look_account(code[3:])

    def look_slot(self, address: bytes, slot: int) -> None:
        self.look_account(address)
        storage = self.accounts[address].storage
        if slot not in storage:
            storage[slot] = self.state.get_storage(Address(address), slot)


def geth_error(error: VMError | None) -> str | None:
    """geth's error string for a py-evm execution error."""
    if error is None:
        return None
    message = str(error)
    if isinstance(error, Revert):
        return REVERTED
    if isinstance(error, OutOfGas):
        if "EIP170" in message:
            return "max code size exceeded"
        if "EIP-2200" in message:
            return "out of gas: not enough gas for reentrancy sentry"
        if "contract code" in message:
            return "contract creation code storage out of gas"
        return "out of gas"
    if isinstance(error, InvalidJumpDestination) or (
        isinstance(error, InvalidInstruction) and "Jump" in message
    ):
        return "invalid jump destination"
    if isinstance(error, InvalidInstruction):
        opcode = message.split()[2] if message.startswith("Invalid opcode") else "?"
        if opcode == "0xfe":
            return "invalid opcode: INVALID"
        return f"invalid opcode: opcode {opcode} not defined"
    known: tuple[tuple[type[VMError], str], ...] = (
        (InsufficientStack, "stack underflow"),
        (FullStack, "stack limit reached 1024 (1023)"),
        (WriteProtection, "write protection"),
        (OutOfBoundsRead, "return data out of bounds"),
        (ContractCreationCollision, "contract address collision"),
        (ReservedBytesInCode, "invalid code: must not begin with 0xef"),
    )
    for kind, text in known:
        if isinstance(error, kind):
            return text
    return precompile_error(message) or f"{type(error).__name__}: {message}"


def recorder_of(computation: Any) -> Recorder:
    return cast(Recorder, computation.state.tm_recorder)


def _address(word: int | bytes) -> bytes:
    data = word.to_bytes(32, "big") if isinstance(word, int) else bytes(word)
    return data[-20:].rjust(20, b"\x00")


def _int(word: int | bytes) -> int:
    return word if isinstance(word, int) else int.from_bytes(word, "big")


def _peek(computation: Any, depth: int) -> int | bytes:
    return cast("int | bytes", computation._stack.values[-1 - depth])


class _TracedOpcode:
    """An opcode run through `hook`, keeping the attributes py-evm reads from opcodes."""

    def __init__(self, opcode: Any, mnemonic: str, hook: Callable[[Any, Any], None]) -> None:
        self.opcode = opcode
        self.mnemonic = mnemonic
        self.hook = hook

    def __call__(self, computation: Any) -> None:
        self.hook(self.opcode, computation)


def _account_read(opcode: Any, computation: Any) -> None:
    recorder_of(computation).look_account(_address(_peek(computation, 0)))
    opcode(computation=computation)


def _slot_access(opcode: Any, computation: Any) -> None:
    address = computation.msg.storage_address
    recorder_of(computation).look_slot(address, _int(_peek(computation, 0)))
    opcode(computation=computation)


def _return(opcode: Any, computation: Any) -> None:
    try:
        opcode(computation=computation)
    finally:
        # Before Homestead a CREATE that cannot pay for its code still succeeds (with no code)
        # and geth reports the returned code as the frame's output; py-evm clears the output.
        computation.tm_returned_output = computation.output


def _call(mnemonic: str) -> Callable[[Any, Any], None]:
    def hook(opcode: Any, computation: Any) -> None:
        recorder_of(computation).look_callee(_address(_peek(computation, 1)))
        # gas, to, [value,] in offset, in size, ...
        args = [computation._stack.values[-1 - i] for i in range(min(7, len(computation._stack)))]
        calls_before = len(computation.tm_calls)
        computation.tm_op = mnemonic
        computation.tm_gas_returned = None
        opcode(computation=computation)
        if len(computation.tm_calls) > calls_before or computation.tm_gas_returned is None:
            return
        # py-evm refused the call before making a child (depth or balance); geth shows a frame.
        with_value = mnemonic in ("CALL", "CALLCODE")
        start, size = (
            (_int(args[3]), _int(args[4])) if with_value else (_int(args[2]), _int(args[3]))
        )
        if mnemonic == "DELEGATECALL":
            value: int | None = computation.msg.value
        else:
            value = _int(args[2]) if with_value else None
        computation.tm_calls.append(
            Frame(
                type=mnemonic,
                sender=computation.msg.storage_address,
                to=_address(args[1]),
                input=bytes(computation.memory_read_bytes(start, size)) if size else b"",
                gas=computation.tm_gas_returned,
                value=value,
                error=_refusal(computation),
            )
        )

    return hook


def _refusal(computation: Any) -> str:
    if computation.msg.depth + 1 > constants.STACK_DEPTH_LIMIT:
        return "max call depth exceeded"
    return "insufficient balance for transfer"


def _create(mnemonic: str) -> Callable[[Any, Any], None]:
    def hook(opcode: Any, computation: Any) -> None:
        # value, offset, size[, salt]
        value, start, size = (_int(computation._stack.values[-1 - i]) for i in range(3))
        calls_before = len(computation.tm_calls)
        computation.tm_op = mnemonic
        computation.tm_create_charges = []
        opcode(computation=computation)
        if len(computation.tm_calls) > calls_before:
            return
        gas_left = computation.get_gas_remaining()
        init = bytes(computation.memory_read_bytes(start, size)) if size else b""
        frame = Frame(
            type=mnemonic,
            sender=computation.msg.storage_address,
            to=None,
            input=init,
            gas=0,
            value=value,
        )
        if len(computation.tm_create_charges) > 1:
            # An address collision: the gas handed over is consumed.
            frame.gas = frame.gas_used = computation.tm_create_charges[-1]
            frame.error = "contract address collision"
        else:
            modifier = getattr(opcode, "max_child_gas_modifier", None)
            frame.gas = modifier(gas_left) if modifier is not None else gas_left
            frame.error = _refusal(computation)
        computation.tm_calls.append(frame)

    return hook


def _selfdestruct(opcode: Any, computation: Any) -> None:
    recorder = recorder_of(computation)
    beneficiary = _address(_peek(computation, 0))
    recorder.look_account(beneficiary)
    me = computation.msg.storage_address
    frame = Frame(
        type="SELFDESTRUCT",
        sender=me,
        to=beneficiary,
        input=b"",
        gas=0,
        value=computation.state.get_balance(me),
    )
    try:
        opcode(computation=computation)
    except Halt:
        # SELFDESTRUCT halts when it succeeds; when it fails (out of gas, static) geth shows no
        # frame either.
        computation.tm_calls.append(frame)
        if not recorder.deletes_only_new_accounts or me in recorder.created:
            recorder.deleted.add(me)
        raise


def _blockhash(opcode: Any, computation: Any) -> None:
    reads = getattr(computation.state, "tm_reads", None)
    if reads is not None:  # a fork of an upstream: the hash may have to be fetched
        reads.block_numbers.add(_int(_peek(computation, 0)))
    opcode(computation=computation)


_HOOKS: dict[str, Callable[[Any, Any], None]] = {
    **{name: _account_read for name in _ACCOUNT_READS},
    **{name: _slot_access for name in _SLOT_ACCESSES},
    **{name: _call(name) for name in _CALLS},
    **{name: _create(name) for name in _CREATES},
    "SELFDESTRUCT": _selfdestruct,
    "RETURN": _return,
    "BLOCKHASH": _blockhash,
}


def _mnemonic(opcode: Any) -> str:
    name = getattr(opcode, "mnemonic", None) or getattr(opcode.__wrapped__, "mnemonic", "")
    return str(name)


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    self.tm_base.__init__(self, *args, **kwargs)
    self.tm_calls = []
    """Child computations and synthesized frames, in the order they happened."""
    self.tm_logs = []
    self.tm_op = None
    self.tm_gas_returned = None
    self.tm_create_charges = []
    self.tm_returned_output = None


def _generate_child_computation(self: Any, child_msg: Any) -> Any:
    if child_msg.is_create:
        recorder = recorder_of(self)
        recorder.look_account(child_msg.storage_address)
        recorder.created.add(child_msg.storage_address)
    child = _base(self).generate_child_computation(self, child_msg)
    child.tm_type = self.tm_op
    self.tm_calls.append(child)
    return child


def _return_gas(self: Any, amount: int) -> None:
    self.tm_gas_returned = amount
    _base(self).return_gas(self, amount)


def _consume_gas(self: Any, amount: int, reason: str) -> None:
    _base(self).consume_gas(self, amount, reason)
    if reason in _CREATES:
        # A CREATE charges its own cost, then (past its checks) the gas it hands to the child.
        self.tm_create_charges.append(amount)


def _add_log_entry(self: Any, account: bytes, topics: tuple[int, ...], data: bytes) -> None:
    _base(self).add_log_entry(self, account, topics, data)
    order = self._log_entries[-1][0]
    self.tm_logs.append(
        Log(
            address=bytes(account),
            topics=tuple(topics),
            data=bytes(data),
            position=len(self.tm_calls),
            order=order,
        )
    )


def _base(computation: Any) -> Any:
    return computation.tm_base


@cache
def traced_state_class(vm: type[VirtualMachineAPI]) -> type[StateAPI]:
    """`vm`'s state class whose computations record frames (built once per VM per process)."""
    state_class = vm.get_state_class()
    base = state_class.computation_class
    opcodes = {
        code: _TracedOpcode(opcode, _mnemonic(opcode), _HOOKS[_mnemonic(opcode)])
        if _mnemonic(opcode) in _WRAPPED
        else opcode
        for code, opcode in base.opcodes.items()
    }
    computation = type(
        f"Traced{base.__name__}",
        (base,),
        {
            "opcodes": opcodes,
            "tm_base": base,
            "__init__": _init,
            "generate_child_computation": _generate_child_computation,
            "return_gas": _return_gas,
            "consume_gas": _consume_gas,
            "add_log_entry": _add_log_entry,
        },
    )
    return cast(
        "type[StateAPI]",
        type(f"Traced{state_class.__name__}", (state_class,), {"computation_class": computation}),
    )
