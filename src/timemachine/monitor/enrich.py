"""Enrichment: the decoded call (registered ABIs, then the bundled signature table; an unknown
selector is shown as such), what kind of transaction it is, the token amounts its arguments
name, the labels of known addresses, and whether the sender or target is watched.

The kind comes from the function name, so any protocol following the common naming (Uniswap V2/V3
routers, Aave/Balancer/ERC-3156 flash loans, OP/Arbitrum/Hop-style bridges) is recognized."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from timemachine.models.trace import DecodedCall
from timemachine.monitor.models import Enrichment, PendingTx, TokenAmount, TxKind
from timemachine.trace.decoder import Decoder

ETH = "ETH"
_KIND_PREFIXES: tuple[tuple[str, TxKind], ...] = (
    ("flashloan", "flash_loan"),
    ("flash", "flash_loan"),
    ("addliquidity", "add_liquidity"),
    ("add_liquidity", "add_liquidity"),
    ("removeliquidity", "remove_liquidity"),
    ("remove_liquidity", "remove_liquidity"),
    ("swap", "swap"),
    ("exactinput", "swap"),
    ("exactoutput", "swap"),
    ("exchange", "swap"),
    ("batchswap", "swap"),
    ("approve", "approve"),
    ("increaseallowance", "approve"),
    ("setapprovalforall", "approve"),
    ("permit", "approve"),
    ("transfer", "transfer"),
    ("safetransfer", "transfer"),
    ("bridge", "bridge"),
    ("depositeth", "bridge"),
    ("depositerc20", "bridge"),
    ("deposittransaction", "bridge"),
    ("outboundtransfer", "bridge"),
    ("sendtol2", "bridge"),
    ("sendtol1", "bridge"),
)


def kind_of(tx: PendingTx, call: DecodedCall | None) -> TxKind:
    """The kind of `tx` from its shape and its decoded function name."""
    if tx.to is None:
        return "contract_creation"
    if tx.input in ("0x", ""):
        return "transfer"
    if call is not None:
        name = call.name.lower()
        for prefix, kind in _KIND_PREFIXES:
            if name.startswith(prefix):
                return kind
    return "other"


def _args(call: DecodedCall) -> dict[str, Any]:
    return {arg.name: arg.value for arg in call.args if arg.name}


def _path(args: Mapping[str, Any]) -> list[str]:
    path = args.get("path")
    if isinstance(path, list) and all(isinstance(step, str) for step in path):
        return [step.lower() for step in path]
    return []


def token_amounts(tx: PendingTx, call: DecodedCall | None, kind: TxKind) -> list[TokenAmount]:
    """The amounts the calldata names (ETH value included), where the arguments say which token:
    ERC-20 transfers and approvals, router swaps and liquidity along a `path`, flash loans."""
    found: list[TokenAmount] = []
    if tx.value:
        found.append(TokenAmount(token=ETH, amount=tx.value, role="sent"))
    if call is None or tx.to is None:
        return found
    args = _args(call)
    values = [arg.value for arg in call.args]
    ints = [value for value in values if isinstance(value, int) and not isinstance(value, bool)]
    if kind == "transfer" and ints:
        found.append(TokenAmount(token=tx.to, amount=ints[-1], role="sent"))
    elif kind == "approve" and ints and call.name == "approve":
        found.append(TokenAmount(token=tx.to, amount=ints[-1], role="allowance"))
    elif kind == "swap" and (path := _path(args)):
        amount_in = args.get("amountIn", args.get("amountInMax"))
        amount_out = args.get("amountOutMin", args.get("amountOut"))
        if isinstance(amount_in, int):
            role = "max_sent" if "amountInMax" in args else "sent"
            found.append(TokenAmount(token=path[0], amount=amount_in, role=role))
        if isinstance(amount_out, int):
            role = "min_received" if "amountOutMin" in args else "received"
            found.append(TokenAmount(token=path[-1], amount=amount_out, role=role))
    elif kind == "flash_loan":
        token, amount = args.get("token", args.get("asset")), args.get("amount")
        if isinstance(token, str) and isinstance(amount, int):
            found.append(TokenAmount(token=token.lower(), amount=amount, role="borrowed"))
    elif kind == "add_liquidity":
        for token_key, amount_key in (("tokenA", "amountA"), ("tokenB", "amountB")):
            token, amount = args.get(token_key), args.get(amount_key)
            if isinstance(token, str) and isinstance(amount, int):
                found.append(TokenAmount(token=token.lower(), amount=amount, role="sent"))
    return found


class Enricher:
    """Enriches pending transactions with one decoder, an address book and a watch list."""

    def __init__(
        self,
        decoder: Decoder,
        *,
        labels: Mapping[str, str] | None = None,
        watch: Iterable[str] = (),
    ) -> None:
        self.decoder = decoder
        self.labels = {address.lower(): label for address, label in (labels or {}).items()}
        self.watch = {address.lower() for address in watch}

    def enrich(self, tx: PendingTx) -> Enrichment:
        call = self.decoder.decode_call(tx.input) if tx.to is not None else None
        kind = kind_of(tx, call)
        parties = [tx.sender, *([tx.to] if tx.to else [])]
        return Enrichment(
            kind=kind,
            selector=tx.selector,
            call=call,
            unknown_selector=tx.selector is not None and call is None and tx.to is not None,
            token_amounts=token_amounts(tx, call, kind),
            labels={a: self.labels[a] for a in parties if a in self.labels},
            watched=[address for address in parties if address in self.watch],
        )
