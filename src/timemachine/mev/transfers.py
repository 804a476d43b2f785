"""Value movements inside a transaction's traces, and the pool-transfer swap helpers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from timemachine.mev.models import ETH_TOKEN_ADDRESS, Swap, Trace, Transfer

if TYPE_CHECKING:
    from timemachine.mev.classify import TraceClassifier


def is_child(child: tuple[int, ...], parent: tuple[int, ...]) -> bool:
    return len(child) > len(parent) and child[: len(parent)] == parent


def eth_transfer(trace: Trace) -> Transfer:
    return Transfer(
        trace.transaction_hash or "",
        trace.trace_address,
        trace.from_address or "",
        trace.to_address or "",
        trace.value,
        ETH_TOKEN_ADDRESS,
    )


def is_simple_eth_transfer(trace: Trace) -> bool:
    """A plain value call (no calldata): what mev-inspect-py counts as an ETH transfer."""
    return trace.value > 0 and trace.type == "call" and trace.input == "0x"


def get_transfer(trace: Trace, classifier: TraceClassifier) -> Transfer | None:
    if is_simple_eth_transfer(trace):
        return eth_transfer(trace)
    if trace.kind == "transfer":
        spec = classifier.spec_for(trace)
        if spec is not None and spec.transfer is not None:
            return spec.transfer(trace)
    return None


def child_traces(tx_traces: Sequence[Trace], index: int) -> list[Trace]:
    """The descendants of tx_traces[index]; tx_traces is one tx's traces in trace-address order."""
    parent = tx_traces[index].trace_address
    depth = len(parent)
    children: list[Trace] = []
    for trace in tx_traces[index + 1 :]:
        address = trace.trace_address
        if len(address) <= depth or address[:depth] != parent:
            break
        children.append(trace)
    return children


def without_nested(transfers: Sequence[Transfer]) -> list[Transfer]:
    """Drop transfers made inside another transfer (a proxy token's delegatecall, say)."""
    kept: list[Transfer] = []
    seen: dict[str, list[tuple[int, ...]]] = {}
    for transfer in sorted(transfers, key=lambda t: t.trace_address):
        earlier = seen.setdefault(transfer.transaction_hash, [])
        if not any(is_child(transfer.trace_address, parent) for parent in earlier):
            kept.append(transfer)
        earlier.append(transfer.trace_address)
    return kept


def filter_transfers(
    transfers: Sequence[Transfer], *, to_address: str | None = None, from_address: str | None = None
) -> list[Transfer]:
    return [
        transfer
        for transfer in transfers
        if (to_address is None or transfer.to_address == to_address)
        and (from_address is None or transfer.from_address == from_address)
    ]


def swap_from_pool_transfers(
    trace: Trace,
    recipient: str,
    prior: list[Transfer],
    children: list[Transfer],
    *,
    pool: str | None = None,
) -> Swap | None:
    """A swap from what went into the pool (ETH value, earlier or inner transfers) and the one
    transfer the pool made to the recipient."""
    pool_address = pool or trace.to_address or ""
    into_pool: list[Transfer] = []
    if trace.value > 0:
        into_pool = [eth_transfer(trace)]
    if not into_pool:
        into_pool = filter_transfers(prior, to_address=pool_address)
    if not into_pool:
        into_pool = filter_transfers(children, to_address=pool_address)
    if not into_pool:
        return None
    out = filter_transfers(children, to_address=recipient, from_address=pool_address)
    if len(out) != 1:
        return None
    transfer_in, transfer_out = into_pool[-1], out[0]
    if transfer_in.token_address == transfer_out.token_address:
        return None
    return make_swap(
        trace,
        contract=pool_address,
        from_address=transfer_in.from_address,
        to_address=transfer_out.to_address,
        token_in=(transfer_in.token_address, transfer_in.amount),
        token_out=(transfer_out.token_address, transfer_out.amount),
    )


def swap_from_recipient_transfers(
    trace: Trace, pool: str, recipient: str, prior: list[Transfer], children: list[Transfer]
) -> Swap | None:
    """A swap from the one transfer the recipient made and the one it received."""
    sent = filter_transfers([*prior, *children], from_address=recipient)
    received = filter_transfers(children, to_address=recipient)
    if len(sent) != 1 or len(received) != 1:
        return None
    return make_swap(
        trace,
        contract=pool,
        from_address=sent[0].from_address,
        to_address=received[0].to_address,
        token_in=(sent[0].token_address, sent[0].amount),
        token_out=(received[0].token_address, received[0].amount),
    )


def make_swap(
    trace: Trace,
    *,
    contract: str,
    from_address: str,
    to_address: str,
    token_in: tuple[str, int],
    token_out: tuple[str, int],
    protocol: str | None = None,
) -> Swap:
    """The Swap `trace` made: `token_in`/`token_out` as (token address, amount); the protocol is
    the trace's unless given."""
    return Swap(
        abi_name=trace.abi_name or "",
        transaction_hash=trace.transaction_hash or "",
        transaction_position=trace.transaction_position or 0,
        block_number=trace.block_number,
        trace_address=list(trace.trace_address),
        contract_address=contract,
        from_address=from_address,
        to_address=to_address,
        token_in_address=token_in[0],
        token_in_amount=token_in[1],
        token_out_address=token_out[0],
        token_out_amount=token_out[1],
        protocol=trace.protocol or "" if protocol is None else protocol,
        error=trace.error,
    )
