"""Signature replay: one contract verifying the same signature over the same digest several times
in one transaction (ECRECOVER precompile, identical input), each time paying out afterwards.

Signals: identical ecrecover input repeated by one contract (required); a value or token outflow
from that contract after each verification in the same frame; the recovered signer the same
every time (same output); the contract losing value over the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from timemachine.analysis import evidence
from timemachine.models.analysis import Amount, Evidence, Finding
from timemachine.models.replay import ReplayResult
from timemachine.models.taxonomy import VulnerabilityClass

NAME = "signature_replay"


@dataclass
class _Uses:
    frames: list[tuple[int, ...]] = field(default_factory=list)
    paid: list[bool] = field(default_factory=list)
    outflow_frames: list[str] = field(default_factory=list)
    amounts: list[Amount] = field(default_factory=list)
    outputs: set[str | None] = field(default_factory=set)


def detect(result: ReplayResult) -> list[Finding]:
    """One finding per (verifying contract, repeated ecrecover input)."""
    uses: dict[tuple[str, str], _Uses] = {}
    for visit in evidence.visits(result.trace):
        frame = visit.frame
        if (
            evidence.lower(frame.to) != evidence.ECRECOVER
            or not evidence.succeeded(frame)
            or not visit.ancestors
        ):
            continue
        parent_path, parent = visit.ancestors[-1]
        verifier = evidence.context_of(parent)
        record = uses.setdefault((verifier, frame.input.lower()), _Uses())
        record.frames.append(visit.path)
        record.outputs.add(frame.output)
        # Outflows the verifying frame made after this verification.
        index = visit.path[-1]
        paid = False
        for position in range(index + 1, len(parent.calls)):
            sibling = parent.calls[position]
            for relative, outflow in evidence.outflows_from(sibling, verifier):
                paid = True
                record.outflow_frames.append(
                    evidence.path_text((*parent_path, position, *relative))
                )
                record.amounts.append(
                    Amount(address=evidence.lower(outflow.to), asset="ETH", amount=outflow.value)
                )
        for token, recipient, amount in evidence.token_outflows(parent, verifier):
            paid = True
            record.amounts.append(Amount(address=recipient, asset=token, amount=amount))
        record.paid.append(paid)

    findings: list[Finding] = []
    for (verifier, signed_input), record in uses.items():
        if len(record.frames) < 2:
            continue
        digest = signed_input[:66]
        signals = [f"the same signature over {digest} verified {len(record.frames)} times"]
        if all(record.paid):
            signals.append("every verification was followed by a payout")
        if len(record.outputs) == 1:
            signals.append("the same signer was recovered every time")
        lost = evidence.losses_of(result, verifier)
        if lost:
            signals.append("the verifying contract lost value over the transaction")
        severity = evidence.severity_for_loss(result, verifier) if any(record.paid) else "info"
        paid_out = sum(amount.amount for amount in record.amounts if amount.asset == "ETH")
        findings.append(
            Finding(
                detector=NAME,
                vulnerability_class=VulnerabilityClass.SIGNATURE_REPLAY,
                severity=severity,
                confidence=evidence.confidence_from(len(signals) - 1),
                title=f"Signature replayed {len(record.frames)} times against {verifier}",
                explanation=(
                    f"{verifier} accepted one signature over digest {digest} "
                    f"{len(record.frames)} times in this transaction and paid out after each "
                    f"verification ({evidence.amount_text('ETH', paid_out)} in total). The signed "
                    "message carries nothing that makes it single-use."
                ),
                recommendation=(
                    "Bind signatures to a nonce (or mark each digest used) and to the contract and "
                    "chain (EIP-712 domain separator), reject malleable signatures (OpenZeppelin "
                    "ECDSA), and check the nonce before paying out."
                ),
                evidence=Evidence(
                    frames=[evidence.path_text(path) for path in record.frames]
                    + record.outflow_frames,
                    addresses=[verifier],
                    digests=[digest],
                    amounts=[
                        *(Amount(address=verifier, asset=a, amount=v) for a, v in lost.items()),
                        *record.amounts,
                    ],
                    signals=signals,
                ),
            )
        )
    return findings
