"""Trace classification: which protocol spec recognises each call, by (ABI, function).

A spec names its ABI, its protocol, the functions it classifies (transfer, swap, liquidate,
seize, mint, burn, collect) and, optionally, the only contracts it applies to. Specs are tried in
registry order; the first whose address filter passes and whose function decodes the calldata
wins (a call that fails to decode falls through to the next spec), as in mev-inspect-py.

Specs marked `extension` go beyond mev-inspect-py (Balancer V2, Curve crypto pools, Uniswap V3
liquidity); `reference_only=True` leaves them out so counts compare one-to-one with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from timemachine.mev.abi import AbiDecodeError, Function
from timemachine.mev.models import Kind, Trace, Transfer

if TYPE_CHECKING:
    from timemachine.mev.models import Liquidation, Swap

SwapParser = Callable[[Trace, list[Transfer], list[Transfer]], "Swap | None"]
"""(swap trace, prior transfers, child transfers) -> Swap, both lists without nested duplicates."""
TransferParser = Callable[[Trace], Transfer | None]
LiquidationParser = Callable[[Trace, list[Trace], list[Transfer]], "Liquidation | None"]
"""(liquidation trace, its child traces, their transfers) -> Liquidation."""


@dataclass(frozen=True)
class ClassifierSpec:
    abi_name: str
    protocol: str | None
    functions: Sequence[tuple[Function, Kind]]
    addresses: frozenset[str] | None = None
    transfer: TransferParser | None = None
    swap: SwapParser | None = None
    liquidation: LiquidationParser | None = None
    extension: bool = False
    by_selector: dict[str, tuple[Function, Kind]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "by_selector", {fn.selector: (fn, kind) for fn, kind in self.functions}
        )


def addresses(*values: str) -> frozenset[str]:
    """A spec's address filter, lower-cased."""
    return frozenset(value.lower() for value in values)


class TraceClassifier:
    """Classifies traces in place against an ordered list of specs."""

    def __init__(self, specs: Iterable[ClassifierSpec], *, reference_only: bool = False) -> None:
        self.reference_only = reference_only
        self.specs = [spec for spec in specs if not (reference_only and spec.extension)]
        self._index: dict[str, list[ClassifierSpec]] = {}
        for spec in self.specs:
            for selector in spec.by_selector:
                self._index.setdefault(selector, []).append(spec)
        self._by_abi: dict[tuple[str, str | None], ClassifierSpec] = {
            (spec.abi_name, spec.protocol): spec for spec in self.specs
        }

    def classify(self, traces: Iterable[Trace]) -> None:
        index = self._index
        for trace in traces:
            if trace.kind is not None:  # re-inspection (maybe with other specs): start afresh
                trace.kind = trace.protocol = trace.abi_name = trace.function_signature = None
                trace.inputs = None
            if trace.type != "call" or len(trace.input) < 10:
                continue
            candidates = index.get(trace.input[:10])
            if candidates is None:
                continue
            for spec in candidates:
                if spec.addresses is not None and trace.to_address not in spec.addresses:
                    continue
                function, kind = spec.by_selector[trace.input[:10]]
                try:
                    inputs = function.decode(trace.input)
                except AbiDecodeError:
                    continue
                trace.kind = kind
                trace.protocol = spec.protocol
                trace.abi_name = spec.abi_name
                trace.function_signature = function.signature
                trace.inputs = inputs
                break

    def spec_for(self, trace: Trace) -> ClassifierSpec | None:
        """The spec that classified `trace` (None for unclassified traces)."""
        if trace.abi_name is None:
            return None
        return self._by_abi.get((trace.abi_name, trace.protocol))
