"""geth's wording for precompile failures that py-evm words its own way.

A failing precompile consumes all gas in both engines; only the error string of the call frame
differs. Each entry maps py-evm's message (`eth/precompiles/*`) to the error geth's
`core/vm/contracts.go` returns for the same failed check; a message that could come from more
than one geth check (py-evm's "Invalid ECADD parameters" covers a malformed point and a coordinate
above the modulus, which geth words differently; its G1 and G2 subgroup checks share one
message) is left as py-evm says it. docs/replay.md lists
the mappings and why each is safe.
"""

from __future__ import annotations

import re

_GETH_WORDING: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), geth)
    for pattern, geth in (
        # blake2f (EIP-152): input must be exactly 213 bytes; its last byte is the final flag.
        (r"^Blake2b input parameter validation failure: input length", "invalid input length"),
        (
            r"^Blake2b input parameter validation failure: incorrect final block indicator",
            "invalid final flag",
        ),
        # ecPairing: raised before any point is decoded only when the input is not k*192 bytes.
        (r"^Invalid ECPAIRING parameters$", "bad elliptic curve pairing size"),
        # point evaluation (EIP-4844): the three checks of geth's kzgPointEvaluation, in order.
        (r"^Point evaluation invalid input length", "invalid input length"),
        (r"^Point evaluation commitment does not match", "mismatched versioned hash"),
        (r"^Point evaluation KZG proof verification failed", "error verifying kzg proof"),
        # BLS12-381 (EIP-2537): every length check is geth's errBLS12381InvalidInputLength.
        (r"^Length of data must be", "invalid input length"),
        (r"^Sub-group check failed for G1 point\.$", "g1 point is not on correct subgroup"),
        (r"^Sub-group check failed for G2 point\.$", "g2 point is not on correct subgroup"),
    )
)


def precompile_error(message: str) -> str | None:
    """geth's error for py-evm's precompile failure `message` (None: no unambiguous mapping)."""
    for pattern, geth in _GETH_WORDING:
        if pattern.search(message):
            return geth
    return None
