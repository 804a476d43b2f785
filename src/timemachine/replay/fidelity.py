"""Original receipt vs replayed receipt: `exact` only if status, gas used and every log agree."""

from __future__ import annotations

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
    differences: list[Difference] = []
    if original.status != replayed.status:
        differences.append(
            Difference(
                field="status",
                original=original.status,
                replayed=replayed.status,
                explanation=(
                    "the replay reverted but the original succeeded"
                    if replayed.status == 0
                    else "the replay succeeded but the original reverted"
                ),
            )
        )
    if original.gas_used != replayed.gas_used:
        delta = replayed.gas_used - original.gas_used
        differences.append(
            Difference(
                field="gas_used",
                original=original.gas_used,
                replayed=replayed.gas_used,
                explanation=f"the replay used {abs(delta):,} {'more' if delta > 0 else 'less'} gas",
            )
        )
    if original.contract_address != replayed.contract_address:
        differences.append(
            Difference(
                field="contract_address",
                original=original.contract_address,
                replayed=replayed.contract_address,
                explanation="the created contract landed at another address",
            )
        )
    differences.extend(_compare_logs(original.logs, replayed.logs))
    differences.extend(trace_differences or [])
    return Fidelity(
        verdict="diverged" if differences else "exact",
        differences=differences,
        notes=list(notes or []),
        trace_compared=trace_differences is not None,
    )


def _compare_logs(original: list[LogEntry], replayed: list[LogEntry]) -> list[Difference]:
    differences = []
    if len(original) != len(replayed):
        differences.append(
            Difference(
                field="logs.length",
                original=len(original),
                replayed=len(replayed),
                explanation=(
                    f"the original emitted {len(original)} logs, the replay {len(replayed)}"
                ),
            )
        )
    for position, (before, after) in enumerate(zip(original, replayed, strict=False)):
        for name in ("address", "topics", "data"):
            old, new = getattr(before, name), getattr(after, name)
            if old != new:
                differences.append(
                    Difference(
                        field=f"logs[{position}].{name}",
                        original=old,
                        replayed=new,
                        explanation=f"log {position} has a different {name}",
                    )
                )
    return differences
