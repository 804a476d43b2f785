"""geth's wording for a failed precompile call in anvil's traces.

anvil 1.7.1 (revm) reports every failed precompile call as "precompiled failed"; geth reports
the check that failed (core/vm/contracts.go). Where the frame's input alone decides which check
failed, the error is rewritten to geth's; where it does not (a malformed curve point, a failed
pairing, a proof that does not verify is told apart only by running the precompile), anvil's
wording stays. docs/replay.md lists every mapping and why it is safe.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from timemachine.hexutil import hex_to_bytes, quantity

REVM_PRECOMPILE_FAILED = "precompiled failed"
INVALID_LENGTH = "invalid input length"


def _blake2f(data: bytes) -> str | None:
    # EIP-152: exactly 213 bytes, the last one the final-block flag (0 or 1).
    if len(data) != 213:
        return INVALID_LENGTH
    return "invalid final flag" if data[212] > 1 else None


def _ecpairing(data: bytes) -> str | None:
    return "bad elliptic curve pairing size" if len(data) % 192 else None


def _point_evaluation(data: bytes) -> str | None:
    # EIP-4844: 192 bytes; the versioned hash must be the commitment's; then the KZG proof.
    if len(data) != 192:
        return INVALID_LENGTH
    if b"\x01" + hashlib.sha256(data[96:144]).digest()[1:] != data[:32]:
        return "mismatched versioned hash"
    return "error verifying kzg proof"


def _exact_length(size: int) -> Callable[[bytes], str | None]:
    return lambda data: INVALID_LENGTH if len(data) != size else None


def _multiple_of(size: int) -> Callable[[bytes], str | None]:
    return lambda data: INVALID_LENGTH if not data or len(data) % size else None


# precompile address -> the geth error its input proves (None: the input does not tell).
_CHECKS: Mapping[int, Callable[[bytes], str | None]] = {
    0x08: _ecpairing,
    0x09: _blake2f,
    0x0A: _point_evaluation,
    # EIP-2537 (Prague): G1ADD, G1MSM, G2ADD, G2MSM, PAIRING_CHECK, MAP_FP_TO_G1, MAP_FP2_TO_G2.
    0x0B: _exact_length(256),
    0x0C: _multiple_of(160),
    0x0D: _exact_length(512),
    0x0E: _multiple_of(288),
    0x0F: _multiple_of(384),
    0x10: _exact_length(64),
    0x11: _exact_length(128),
}


def geth_precompile_error(to: str | None, data: str | None) -> str | None:
    """geth's error for a failed call of precompile `to` with input `data`, when it is decided
    by the input alone (None otherwise)."""
    address = quantity(to)
    check = _CHECKS.get(address) if address is not None else None
    return check(hex_to_bytes(data) or b"") if check is not None else None


def with_geth_precompile_errors(frame: dict[str, Any]) -> dict[str, Any]:
    """A callTracer frame (and its calls) with revm's precompile failures in geth's words."""
    out = dict(frame)
    if out.get("error") == REVM_PRECOMPILE_FAILED:
        out["error"] = geth_precompile_error(out.get("to"), out.get("input")) or out["error"]
    if out.get("calls"):
        out["calls"] = [with_geth_precompile_errors(child) for child in out["calls"]]
    return out
