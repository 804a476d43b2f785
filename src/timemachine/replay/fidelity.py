"""Original receipt vs replayed receipt: `exact` only if status, gas used and every log agree."""

from __future__ import annotations

from typing import Any

from timemachine.models import Difference, Fidelity, LogEntry, ReceiptSummary


def compare_receipts(
    original: ReceiptSummary,
    replayed: ReceiptSummary,
    notes: list[str] | None = None,
    trace_differences: list[Difference] | None = None,
) -> Fidelity:
    """The fidelity verdict, with one Difference per mismatching field.

    `trace_differences` (None when the traces were not compared) come from `compare_traces`.
    """
    delta = replayed.gas_used - original.gas_used
    differences = [
        *mismatch(
            "status",
            original.status,
            replayed.status,
            "the replay reverted but the original succeeded"
            if replayed.status == 0
            else "the replay succeeded but the original reverted",
        ),
        *mismatch(
            "gas_used",
            original.gas_used,
            replayed.gas_used,
            f"the replay used {abs(delta):,} {'more' if delta > 0 else 'less'} gas",
        ),
        *mismatch(
            "contract_address",
            original.contract_address,
            replayed.contract_address,
            "the created contract landed at another address",
        ),
        *_compare_logs(original.logs, replayed.logs),
        *(trace_differences or []),
    ]
    return Fidelity(
        verdict="diverged" if differences else "exact",
        differences=differences,
        notes=list(notes or []),
        trace_compared=trace_differences is not None,
    )


def mismatch(field: str, original: Any, replayed: Any, explanation: str) -> list[Difference]:
    """[the Difference] when the original and replayed values of `field` differ, else []."""
    if original == replayed:
        return []
    return [Difference(field=field, original=original, replayed=replayed, explanation=explanation)]


def _compare_logs(original: list[LogEntry], replayed: list[LogEntry]) -> list[Difference]:
    differences = mismatch(
        "logs.length",
        len(original),
        len(replayed),
        f"the original emitted {len(original)} logs, the replay {len(replayed)}",
    )
    for position, (before, after) in enumerate(zip(original, replayed, strict=False)):
        for name in ("address", "topics", "data"):
            differences += mismatch(
                f"logs[{position}].{name}",
                getattr(before, name),
                getattr(after, name),
                f"log {position} has a different {name}",
            )
    return differences
