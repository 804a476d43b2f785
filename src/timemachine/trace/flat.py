"""geth's flatCallTracer (eth/tracers/native/call_flat.go), derived from a callTracer tree.

anvil 1.7.1 answers `flatCallTracer` with an empty object, so the flat (Parity-style) trace is
built here from the engine's callTracer output with geth's documented semantics: a pre-order walk;
CALL-family frames become `call` with the lower-case opcode as `callType`; CREATE/CREATE2 become
`create` with `creationMethod`; SELFDESTRUCT becomes `suicide` (address = the dying contract,
refundAddress = the beneficiary, balance = the value); a frame failing with anything other than
"execution reverted" has no `result`; CALL/STATICCALL frames to a precompile active in the fork
are removed unless `includePrecompiles` (their parent's subtraces shrink accordingly);
`convertParityErrors` rewrites geth's error strings into Parity's.
"""

from __future__ import annotations

from typing import Any

from timemachine.chain.hardforks import is_at_least
from timemachine.hexutil import quantity

REVERTED = "execution reverted"

# Precompile addresses and the fork that activates each (geth core/vm/contracts.go).
_PRECOMPILES: tuple[tuple[int, int, str], ...] = (
    (0x01, 0x04, "frontier"),
    (0x05, 0x08, "byzantium"),
    (0x09, 0x09, "istanbul"),
    (0x0A, 0x0A, "cancun"),
    (0x0B, 0x11, "prague"),
    (0x100, 0x100, "osaka"),
)


def is_precompile(address: str | None, hardfork: str) -> bool:
    """Whether `address` is a precompile active under `hardfork`."""
    number = quantity(address)
    if number is None:
        return False
    return any(
        low <= number <= high and is_at_least(hardfork, since) for low, high, since in _PRECOMPILES
    )


def parity_error(error: str) -> str:
    """geth's convertErrorToParity: a geth error string as OpenEthereum spells it."""
    out_of_gas = {
        "out of gas",
        "contract creation code storage out of gas",
        "gas uint64 overflow",
        "max code size exceeded",
    }
    if error in out_of_gas or error.startswith("out of gas:"):
        return "Out of gas"
    fixed = {
        "invalid jump destination": "Bad jump destination",
        REVERTED: "Reverted",
        "return data out of bounds": "Out of bounds",
        "stack limit reached 1024 (1023)": "Out of stack",
        "precompile failed": "Built-in failed",
        "invalid input length": "Built-in failed",
    }
    if error in fixed:
        return fixed[error]
    if error.startswith("stack limit reached"):
        return "Out of stack"
    if error.startswith("invalid opcode:"):
        return "Bad instruction"
    if error.startswith("stack underflow"):
        return "Stack underflow"
    return error


def flat_trace(
    root: dict[str, Any],
    hardfork: str,
    *,
    include_precompiles: bool = False,
    convert_parity_errors: bool = False,
) -> list[dict[str, Any]]:
    """The flatCallTracer result for a callTracer tree (root frame gas already normalized)."""
    out: list[dict[str, Any]] = []
    pruned = root if include_precompiles else _without_precompiles(root, hardfork)
    _flatten(pruned, [], convert_parity_errors, out)
    return out


def _without_precompiles(frame: dict[str, Any], hardfork: str) -> dict[str, Any]:
    calls = [
        _without_precompiles(child, hardfork)
        for child in frame.get("calls") or []
        if not (
            str(child.get("type", "")).upper() in ("CALL", "STATICCALL")
            and is_precompile(child.get("to"), hardfork)
        )
    ]
    return {**frame, "calls": calls}


def _flatten(
    frame: dict[str, Any], address: list[int], convert: bool, out: list[dict[str, Any]]
) -> None:
    kind = str(frame.get("type", "")).upper()
    flat: dict[str, Any]
    if kind in ("CREATE", "CREATE2"):
        flat = {
            "type": "create",
            "action": {
                "from": frame.get("from"),
                "gas": frame.get("gas"),
                "value": frame.get("value"),
                "init": frame.get("input"),
                "creationMethod": kind.lower(),
            },
            "result": {
                "gasUsed": frame.get("gasUsed"),
                "address": frame.get("to"),
                "code": frame.get("output"),
            },
        }
    elif kind == "SELFDESTRUCT":
        flat = {
            "type": "suicide",
            "action": {
                "address": frame.get("from"),
                "refundAddress": frame.get("to"),
                "balance": frame.get("value"),
            },
        }
    else:
        flat = {
            "type": "call",
            "action": {
                "from": frame.get("from"),
                "to": frame.get("to"),
                "gas": frame.get("gas"),
                "value": frame.get("value"),
                "callType": kind.lower(),
                "input": frame.get("input"),
            },
            "result": {"gasUsed": frame.get("gasUsed"), "output": frame.get("output")},
        }
    error = frame.get("error")
    if error:
        flat["error"] = parity_error(error) if convert else error
        if error != REVERTED:
            flat.pop("result", None)
    calls = frame.get("calls") or []
    flat["subtraces"] = len(calls)
    flat["traceAddress"] = list(address)
    out.append(flat)
    for index, child in enumerate(calls):
        _flatten(child, [*address, index], convert, out)
