"""Who gained and who lost: attacker-controlled addresses, their net gain, victims' losses."""

from __future__ import annotations

from timemachine.analysis.evidence import (
    context_of,
    deltas,
    is_precompile,
    lower,
    per_last_result,
    visits,
)
from timemachine.chain.registry import get_chain
from timemachine.models.analysis import AddressAssets, AssetAmount, AssetValue, ProfitReport
from timemachine.models.replay import ReplayResult, TokenPrice


def _never_lost(table: dict[str, dict[str, int]], address: str) -> bool:
    return all(delta >= 0 for delta in table.get(address, {}).values())


def _paid_by(result: ReplayResult, attackers: list[str], address: str) -> bool:
    """Whether the attacker side paid `address` more of some asset than it paid them: a
    counterparty such as a flash lender that called back into the borrower and took its fee."""
    net: dict[str, int] = {}
    for transfer in result.token_transfers:
        asset = "ETH" if transfer.standard == "ETH" else lower(transfer.token)
        source, target = lower(transfer.from_), lower(transfer.to)
        if source in attackers and target == address:
            net[asset] = net.get(asset, 0) + transfer.amount
        elif source == address and target in attackers:
            net[asset] = net.get(asset, 0) - transfer.amount
    return any(amount > 0 for amount in net.values())


def _sender_conduit(result: ReplayResult, entry: str) -> bool:
    """Whether the entry contract acted for the sender: it passed on to the sender an asset it
    received from third parties in the tx (a helper or router collecting for its caller; a vault
    paying a user out of its own holdings receives nothing from anyone else)."""
    sender = lower(result.sender)
    collected: set[str] = set()
    forwarded: set[str] = set()
    for transfer in result.token_transfers:
        asset = "ETH" if transfer.standard == "ETH" else lower(transfer.token)
        source, target = lower(transfer.from_), lower(transfer.to)
        if target == entry and source != sender:
            collected.add(asset)
        elif source == entry and target == sender:
            forwarded.add(asset)
    return bool(collected & forwarded)


def find_attackers(result: ReplayResult) -> list[str]:
    """The sender, contracts created in the tx by attacker-controlled frames, and contracts an
    attacker address called that called back into (or sent value to) an attacker address while
    losing nothing themselves; the entry contract counts when it is no token and loses nothing or
    acts as the sender's conduit (`_sender_conduit`).

    Lower-cased, in the order they were recognized.
    """
    table = deltas(result)
    tokens = {lower(transfer.token) for transfer in result.token_transfers if transfer.token}
    attackers = [lower(result.sender)]
    entry = lower(result.to) if result.to else None
    if (
        entry
        and result.trace.calls
        and (_never_lost(table, entry) or _sender_conduit(result, entry))
        and entry not in tokens
        and not is_precompile(entry)
    ):
        attackers.append(entry)
    changed = True
    while changed:
        changed = False
        for visit in visits(result.trace):
            frame = visit.frame
            if frame.error is not None or not frame.to:
                continue
            callee = lower(frame.to)
            if callee in attackers or is_precompile(callee):
                continue
            caller = context_of(visit.ancestors[-1][1]) if visit.ancestors else lower(frame.from_)
            if caller not in attackers:
                continue
            if frame.type in ("CREATE", "CREATE2"):
                attackers.append(callee)
                changed = True
                continue
            if callee in tokens or not _never_lost(table, callee):
                continue
            if _paid_by(result, attackers, callee):
                continue  # a counterparty paid by the attacker (a flash lender's fee)
            calls_back = any(
                lower(inner.frame.from_) == callee
                and lower(inner.frame.to) in attackers
                and inner.frame.error is None
                and (inner.frame.value > 0 or inner.frame.type == "CALL")
                for inner in visits(frame)
                if inner.path
            )
            if calls_back:
                attackers.append(callee)
                changed = True
    return attackers


attacker_addresses = per_last_result(find_attackers)
"""`find_attackers`, remembered for the last result asked about (every detector asks)."""


def _rows(per_address: dict[str, dict[str, int]]) -> list[AddressAssets]:
    return [
        AddressAssets(
            address=address,
            assets=[AssetAmount(asset=asset, amount=amount) for asset, amount in assets.items()],
        )
        for address, assets in per_address.items()
        if assets
    ]


def _totals(per_address: dict[str, dict[str, int]]) -> list[AssetAmount]:
    totals: dict[str, int] = {}
    for assets in per_address.values():
        for asset, amount in assets.items():
            totals[asset] = totals.get(asset, 0) + amount
    return [AssetAmount(asset=asset, amount=amount) for asset, amount in totals.items() if amount]


def gas_fee(result: ReplayResult) -> int | None:
    """ETH the sender paid for gas: its ETH transfers in minus out, minus its balance change."""
    sender = lower(result.sender)
    delta = deltas(result).get(sender, {}).get("ETH")
    if delta is None:
        return None
    moved = 0
    for transfer in result.token_transfers:
        if transfer.standard != "ETH":
            continue
        if lower(transfer.to) == sender:
            moved += transfer.amount
        if lower(transfer.from_) == sender:
            moved -= transfer.amount
    fee = moved - delta
    return fee if fee >= 0 else None


def profit_report(result: ReplayResult) -> ProfitReport:
    """Net gain per attacker address per asset, and loss per victim per asset.

    Victims are the other addresses whose balance of an asset fell, except the block's coinbase
    (it only collects the fee).
    """
    table = deltas(result)
    attackers = attacker_addresses(result)
    coinbase = lower(result.block_env.coinbase)
    # A zero delta is kept in the balance changes when the token's events claimed a move (see
    # BalanceChange.logged_delta); it is no gain.
    gains = {
        address: {asset: delta for asset, delta in table.get(address, {}).items() if delta}
        for address in attackers
    }
    losses: dict[str, dict[str, int]] = {}
    for address, assets in table.items():
        if address in attackers or address == coinbase:
            continue
        lost = {asset: -delta for asset, delta in assets.items() if delta < 0}
        if lost:
            losses[address] = lost
    net_gain, total_loss = _totals(gains), _totals(losses)
    values = asset_values(result, net_gain, total_loss)
    return ProfitReport(
        sender=lower(result.sender),
        attackers=attackers,
        gains=_rows(gains),
        losses=_rows(losses),
        net_gain=net_gain,
        total_loss=total_loss,
        gas_fee_wei=gas_fee(result),
        values=values,
        net_gain_eth=sum(value.net_gain_eth or 0 for value in values),
        total_loss_eth=sum(value.loss_eth or 0 for value in values),
        unpriced=[value.asset for value in values if value.basis is None],
    )


def asset_values(
    result: ReplayResult, net_gain: list[AssetAmount], total_loss: list[AssetAmount]
) -> list[AssetValue]:
    """Every asset the attackers' net or the victims' loss holds, valued in wei.

    ETH counts as itself, the chain's wrapped native token 1:1, a token at the pre-transaction
    mid price of the pair in `result.token_prices`; anything else is unpriced (ETH values None).
    Assets in order: ETH first, then as they first appear in the net gain, then the losses.
    """
    gained = {entry.asset: entry.amount for entry in net_gain}
    lost = {entry.asset: entry.amount for entry in total_loss}
    assets = sorted(dict.fromkeys([*gained, *lost]), key=lambda asset: asset != "ETH")
    wrapped = get_chain(result.chain_id).wrapped_native
    prices = {lower(price.token): price for price in result.token_prices}
    values = []
    for asset in assets:
        gain, loss = gained.get(asset, 0), lost.get(asset, 0)
        if gain == 0 and loss == 0:
            continue
        if asset == "ETH" or (wrapped is not None and asset == lower(wrapped)):
            basis = "native" if asset == "ETH" else "wrapped native"
            values.append(
                AssetValue(
                    asset=asset,
                    net_gain=gain,
                    loss=loss,
                    net_gain_eth=gain,
                    loss_eth=loss,
                    basis=basis,
                )
            )
            continue
        price: TokenPrice | None = prices.get(asset)
        if price is None:
            values.append(AssetValue(asset=asset, net_gain=gain, loss=loss))
            continue
        values.append(
            AssetValue(
                asset=asset,
                net_gain=gain,
                loss=loss,
                net_gain_eth=price.value_of(gain),
                loss_eth=price.value_of(loss),
                basis="pair",
                pair=lower(price.pair),
                reserve_token=price.reserve_token,
                reserve_native=price.reserve_native,
            )
        )
    return values
