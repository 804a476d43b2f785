"""The fund-flow graph of a transaction: who sent what to whom."""

from __future__ import annotations

from timemachine.analysis.evidence import lower
from timemachine.models.analysis import FlowEdge, FundFlow
from timemachine.models.replay import ReplayResult


def fund_flow(result: ReplayResult) -> FundFlow:
    """Nodes are addresses (in order of first appearance); edges sum the transfers of one asset
    between two addresses (ETH from value-carrying frames, tokens from their transfer logs).
    ERC-721 edges count tokens."""
    nodes: list[str] = []
    edges: dict[tuple[str, str, str], FlowEdge] = {}
    for transfer in result.token_transfers:
        source, target = lower(transfer.from_), lower(transfer.to)
        asset = "ETH" if transfer.standard == "ETH" else lower(transfer.token)
        for node in (source, target):
            if node not in nodes:
                nodes.append(node)
        key = (source, target, asset)
        edge = edges.get(key)
        if edge is None:
            edges[key] = FlowEdge(
                source=source, target=target, asset=asset, amount=transfer.amount, transfers=1
            )
        else:
            edge.amount += transfer.amount
            edge.transfers += 1
    return FundFlow(nodes=nodes, edges=list(edges.values()))
