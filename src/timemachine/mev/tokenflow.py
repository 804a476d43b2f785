"""Token flow of one transaction: ETH (with WETH) and stablecoin inflow and outflow of the
contract it called and that contract's delegatecall proxies (mev-inspect-py's `run_tokenflow`).

Routers and aggregators are left out of the watched set: flows through them are their users'.
"""

from __future__ import annotations

from pydantic import BaseModel

from timemachine.mev.models import WETH_TOKEN_ADDRESS, Block, Trace

STABLECOINS = frozenset(
    {
        "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48",  # USDC
        "0xdac17f958d2ee523a2206206994597c13d831ec7",  # USDT
        "0x6b175474e89094c44da98b954eedeac495271d0f",  # DAI
        "0x0000000000085d4780b73119b644ae5ecd22b376",  # TUSD
        "0x4fabb145d64652a948d72533023f6e7a623c7c53",  # BUSD
        "0x8e870d67f660d95d5be530380d0ec0bd388289e1",  # PAX
        "0x956f47f50a910163d8bf957cf5846d573e7f87ca",  # FEI
        "0x853d955acef822db058eb8505911ed77f175b99e",  # FRAX
        "0xbc6da0fe9ad5f3b0d58160288917aa56653660e9",  # alUSD
        "0x57ab1ec28d129707052df4df418d58a2d46d5f51",  # sUSD
        "0x5f98805a4e8be255a32880fdec7f6728c6568ba0",  # LUSD
        "0x674c6ad92fd080e4004b2312b45f796a192d27a0",  # USDN
    }
)
ROUTERS = frozenset(
    {
        "0x3d71d79c224998e608d03c5ec9b405e7a38505f0",  # KeeperDAO
        "0x11111254369792b2ca5d084ab5eea397ca8fa48b",  # 1inch v1
        "0x111111125434b319222cdbf8c261674adb56f3ae",  # 1inch v2
        "0x11111112542d85b3ef69ae05771c2dccff4faa26",  # 1inch v3
        "0xa356867fdcea8e71aeaf87805808803806231fdc",  # DODO
        "0xdef1c0ded9bec7f1a1670819833240f027b25eff",  # 0x Exchange Proxy
        "0x90f765f63e7dc5ae97d6c576bf693fb6af41c129",  # Set Trade
        "0x7113dd99c79aff93d54cfa4b2885576535a132de",  # Totle
        "0x9509665d015bfe3c77aa5ad6ca20c8afa1d98989",  # Paraswap
        "0x86969d29f5fd327e1009ba66072be22db6017cc6",  # Paraswap v2
        "0xf90e98f3d8dce44632e5020abf2e122e0f99dfab",  # Paraswap v3
        "0x1bd435f3c054b6e901b7b108a0ab7617c808677b",  # Paraswap v4
        "0x57805e5a227937bac2b0fdacaa30413ddac6b8e1",  # Furucombo
        "0x17e8ca1b4798b97602895f63206afcd1fc90ca5f",  # Furucombo proxy
        "0x881d40237659c251811cec9c364ef91dc08d300c",  # MetaMask Swap
        "0x745daa146934b27e3f0b6bff1a6e36b9b90fb131",  # DEX.ag
        "0xb2be281e8b11b47fec825973fc8bb95332022a54",  # Zerion SDK
        "0x7a250d5630b4cf539739df2c5dacb4c659f2488d",  # Uniswap V2 Router02
        "0xd9e1ce17f2641f24ae83637ab66a2cca9c378b9f",  # SushiSwap Router02
        "0xe592427a0aece92de3edee1f18e0157c05861564",  # Uniswap V3 SwapRouter
        "0x3e66b66fd1d0b02fda6c811da9e0547970db2f21",  # Balancer ExchangeProxy
        "0xc011a73ee8576fb46f5e1c5751ca3b9fe0af2a6f",  # Synthetix proxy
    }
)
_TRANSFER = "0xa9059cbb"
_TRANSFER_FROM = "0x23b872dd"


class TokenFlow(BaseModel):
    """[inflow, outflow] in wei (ETH and WETH together) and in stablecoin base units."""

    ether_flows: tuple[int, int]
    dollar_flows: tuple[int, int]


def _token_move(trace: Trace) -> tuple[str | None, str, int] | None:
    """(from or None for `transfer`, to, amount) of a plain transfer/transferFrom call."""
    data = trace.input
    if len(data) == 138 and data[:10] == _TRANSFER:
        return None, "0x" + data[34:74], int(data[74:138], 16)
    if len(data) == 202 and data[:10] == _TRANSFER_FROM:
        return "0x" + data[34:74], "0x" + data[98:138], int(data[138:202], 16)
    return None


def _add_move(flows: list[int], trace: Trace, watched: set[str]) -> None:
    move = _token_move(trace)
    if move is None:
        return
    sender, recipient, amount = move
    if recipient in watched:
        flows[0] += amount
    elif (trace.from_address if sender is None else sender) in watched:
        flows[1] += amount


def token_flow(block: Block, tx_hash: str) -> TokenFlow:
    traces = [t for t in block.traces if t.transaction_hash == tx_hash]
    to_address = next((r.to for r in block.receipts if r.transaction_hash == tx_hash), None)
    if to_address is None:
        raise ValueError(f"no receipt with a 'to' address for {tx_hash}")
    watched = {
        t.to_address or ""
        for t in traces
        if t.type == "call" and t.call_type == "delegatecall" and t.from_address == to_address
    }
    if to_address not in ROUTERS:
        watched.add(to_address)
    ether = [0, 0]
    dollars = [0, 0]
    for trace in traces:
        if trace.type == "call":
            plain = trace.call_type != "delegatecall" and trace.value > 0
            if plain and trace.from_address != WETH_TOKEN_ADDRESS and trace.to_address in watched:
                ether[0] += trace.value
            if plain and trace.to_address != WETH_TOKEN_ADDRESS and trace.from_address in watched:
                ether[1] += trace.value
            if trace.to_address == WETH_TOKEN_ADDRESS:
                _add_move(ether, trace, watched)
            if trace.to_address in STABLECOINS:
                _add_move(dollars, trace, watched)
        elif trace.type == "suicide" and trace.to_address in watched:
            ether[0] += trace.value
    return TokenFlow(ether_flows=(ether[0], ether[1]), dollar_flows=(dollars[0], dollars[1]))
