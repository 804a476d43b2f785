"""Custom rules in WebAssembly, run by wasmtime with a fuel budget, a memory cap and no imports.

ABI (see docs/rules.md): the module exports `memory`, `alloc(len: i32) -> i32` and
`match(ptr: i32, len: i32) -> i32`. For each event the host calls `alloc(n)`, writes the event
record at the returned pointer and calls `match(ptr, n)`; a non-zero result is a match. The record
is little-endian:

    0   u32  stage           0 pending, 1 simulated, 2 mined
    4   u32  severity        top finding: 0 none, 1 info, 2 low, 3 medium, 4 high, 5 critical
    8   u64  chain id
    16  u64  tx value        wei, saturated at 2**64 - 1
    24  u64  gas price       wei, saturated (0 when unknown)
    32  u32  JSON length     the whole event as JSON (RuleEvent's fields) follows at 36
    36  ...  JSON bytes

The module may import nothing: the event is all it can see. Each call gets `fuel` units (an
infinite loop runs out and traps) and the memory may not grow beyond `memory_bytes` (a module
asking for more fails to load; a store past its memory traps). A trap disables the rule with the
trap's reason; the engine keeps evaluating the other rules.
"""

from __future__ import annotations

import struct
from pathlib import Path

import wasmtime

from timemachine.rules.errors import RuleError
from timemachine.rules.event import STAGES, RuleEvent
from timemachine.rules.view import EventView, severity_level

DEFAULT_FUEL = 1_000_000
DEFAULT_MEMORY_BYTES = 16 * 1024 * 1024
HEADER = struct.Struct("<IIQQQI")
U64_MAX = 2**64 - 1


class WasmRuleError(RuleError):
    """A WebAssembly rule that cannot load, or that trapped (and is now disabled)."""


def event_record(event: RuleEvent) -> bytes:
    """The bytes a WASM rule receives for `event` (the ABI above)."""
    view = EventView(event)
    top = view.top_finding
    body = event.model_dump_json(by_alias=True).encode()
    header = HEADER.pack(
        STAGES.index(event.stage),
        0 if top is None else severity_level(top.severity) + 1,
        event.chain_id,
        min(event.tx.value, U64_MAX),
        min(event.tx.gas_price or 0, U64_MAX),
        len(body),
    )
    return header + body


class WasmRule:
    """One loaded module, instantiated once; each call refuels."""

    def __init__(
        self,
        source: bytes | str,
        *,
        name: str,
        fuel: int = DEFAULT_FUEL,
        memory_bytes: int = DEFAULT_MEMORY_BYTES,
    ) -> None:
        self.name = name
        self.fuel = fuel
        config = wasmtime.Config()
        config.consume_fuel = True
        self.engine = wasmtime.Engine(config)
        self.store = wasmtime.Store(self.engine)
        self.store.set_limits(memory_size=memory_bytes, instances=1, tables=1, memories=1)
        try:
            module = wasmtime.Module(self.engine, source)
        except wasmtime.WasmtimeError as exc:
            raise WasmRuleError(f"{name}: not a valid WebAssembly module: {_first(exc)}") from None
        if module.imports:
            wanted = ", ".join(f"{i.module}.{i.name}" for i in module.imports)
            raise WasmRuleError(
                f"{name}: the module imports {wanted}; a rule module may import nothing"
            )
        self.store.set_fuel(fuel)
        try:
            instance = wasmtime.Instance(self.store, module, [])
        except (wasmtime.WasmtimeError, wasmtime.Trap) as exc:
            raise WasmRuleError(
                f"{name}: could not start (memory limited to {memory_bytes} bytes): {_first(exc)}"
            ) from None
        exports = instance.exports(self.store)
        memory, alloc, match = (exports.get(n) for n in ("memory", "alloc", "match"))
        if not (
            isinstance(memory, wasmtime.Memory)
            and isinstance(alloc, wasmtime.Func)
            and isinstance(match, wasmtime.Func)
        ):
            raise WasmRuleError(f"{name}: the module must export `memory`, `alloc` and `match`")
        self.memory, self.alloc, self.match_func = memory, alloc, match
        self.memory_bytes = memory_bytes

    @classmethod
    def from_file(cls, path: Path, **limits: int) -> WasmRule:
        """A `.wat` (text, compiled by wasmtime itself) or `.wasm` module."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise WasmRuleError(f"cannot read {path}: {exc.strerror}") from None
        source: bytes | str = data.decode() if path.suffix == ".wat" else data
        return cls(source, name=path.name, **limits)

    def matches(self, event: RuleEvent) -> bool:
        """Whether the module matches `event`; WasmRuleError when it traps or runs out of fuel."""
        record = event_record(event)
        self.store.set_fuel(self.fuel)
        try:
            pointer = self.alloc(self.store, len(record))
            if not isinstance(pointer, int) or pointer < 0:
                raise WasmRuleError(f"{self.name}: alloc returned {pointer!r}, not a pointer")
            if pointer + len(record) > self.memory.data_len(self.store):
                raise WasmRuleError(
                    f"{self.name}: alloc({len(record)}) returned {pointer}, past its memory"
                )
            self.memory.write(self.store, record, pointer)
            result = self.match_func(self.store, pointer, len(record))
        except wasmtime.Trap as exc:
            raise WasmRuleError(self._trap_reason(exc)) from None
        except wasmtime.WasmtimeError as exc:
            raise WasmRuleError(f"{self.name}: failed: {_first(exc)}") from None
        return bool(result)

    def _trap_reason(self, trap: wasmtime.Trap) -> str:
        code = trap.trap_code
        if code == wasmtime.TrapCode.OUT_OF_FUEL:
            return f"{self.name}: ran out of fuel ({self.fuel} units): an endless or too long loop"
        if code == wasmtime.TrapCode.MEMORY_OUT_OF_BOUNDS:
            return (
                f"{self.name}: memory access out of bounds (memory is capped at "
                f"{self.memory_bytes} bytes, so growing past it fails)"
            )
        reason = code.name.lower().replace("_", " ") if code is not None else _first(trap)
        return f"{self.name}: trapped: {reason}"


def _first(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
