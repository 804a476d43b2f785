"""Swaps: each classified swap call, priced by the transfers before and inside it.

A proxy that delegatecalls the same swap function into its implementation (the 0x Exchange
Proxy does) is one swap; mev-inspect-py reports both frames, and so does `reference_only`.
"""

from __future__ import annotations

from collections.abc import Sequence

from timemachine.mev.classify import TraceClassifier
from timemachine.mev.models import Swap, Trace, Transfer
from timemachine.mev.transfers import child_traces, without_nested


def transaction_swaps(
    traces: Sequence[Trace], transfers: Sequence[Transfer | None], classifier: TraceClassifier
) -> list[Swap]:
    """The swaps of one transaction; `traces` in trace-address order, `transfers` aligned."""
    swaps: list[Swap] = []
    prior: list[Transfer] = []
    swap_frames: dict[tuple[int, ...], str | None] = {}
    for index, trace in enumerate(traces):
        if trace.kind == "transfer":
            transfer = transfers[index]
            if transfer is not None:
                prior.append(transfer)
        elif trace.kind == "swap":
            spec = classifier.spec_for(trace)
            if spec is None or spec.swap is None:
                continue
            swap_frames[trace.trace_address] = trace.function_signature
            if (
                not classifier.reference_only
                and trace.call_type == "delegatecall"
                and swap_frames.get(trace.trace_address[:-1]) == trace.function_signature
            ):
                continue  # a proxy's swap delegated to its implementation: the same swap again
            count = len(child_traces(traces, index))
            children = [t for t in transfers[index + 1 : index + 1 + count] if t is not None]
            swap = spec.swap(trace, without_nested(prior), without_nested(children))
            if swap is not None:
                swaps.append(swap)
    return swaps
