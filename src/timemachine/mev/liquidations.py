"""Liquidations: the outermost classified liquidation call of each subtree, parsed by its spec.

A liquidation whose frame reverted is not one; neither is a liquidation inside a transaction
whose top-level call failed (its effects were undone), which mev-inspect-py only caught when the
liquidation frame itself carried the error.
"""

from __future__ import annotations

from collections.abc import Sequence

from timemachine.mev.classify import TraceClassifier
from timemachine.mev.models import Liquidation, Trace, Transfer
from timemachine.mev.transfers import child_traces, is_child


def transaction_liquidations(
    traces: Sequence[Trace], transfers: Sequence[Transfer | None], classifier: TraceClassifier
) -> list[Liquidation]:
    """The liquidations of one transaction (`traces` in trace-address order, transfers aligned)."""
    found: list[Liquidation] = []
    parents: list[tuple[int, ...]] = []
    if traces and traces[0].trace_address == () and traces[0].error is not None:
        return found
    for index, trace in enumerate(traces):
        if trace.kind is None:
            continue
        if any(is_child(trace.trace_address, parent) for parent in parents):
            continue
        if trace.error == "Reverted":
            continue
        if trace.kind != "liquidate":
            continue
        parents.append(trace.trace_address)
        spec = classifier.spec_for(trace)
        if spec is None or spec.liquidation is None:
            continue
        children = child_traces(traces, index)
        child_transfers = [
            t for t in transfers[index + 1 : index + 1 + len(children)] if t is not None
        ]
        liquidation = spec.liquidation(trace, children, child_transfers)
        if liquidation is not None:
            found.append(liquidation)
    return found
