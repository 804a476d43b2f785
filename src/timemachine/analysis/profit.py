"""Who gained and who lost: attacker-controlled addresses, their net gain, victims' losses."""

from __future__ import annotations

from timemachine.analysis.common import context_of, deltas, is_precompile, lower, visits
from timemachine.models.analysis import AddressAssets, AssetAmount, ProfitReport
from timemachine.models.replay import ReplayResult


def _never_lost(table: dict[str, dict[str, int]], address: str) -> bool:
    return all(delta >= 0 for delta in table.get(address, {}).values())


def attacker_addresses(result: ReplayResult) -> list[str]:
    """The sender, contracts created in the tx by attacker-controlled frames, and contracts an
    attacker address called that called back into (or sent value to) an attacker address while
    losing nothing themselves; the entry contract counts when it loses nothing and is no token.

    Lower-cased, in the order they were recognized.
    """
    table = deltas(result)
    tokens = {lower(transfer.token) for transfer in result.token_transfers if transfer.token}
    attackers = [lower(result.sender)]
    entry = lower(result.to) if result.to else None
    if (
        entry
        and result.trace.calls
        and _never_lost(table, entry)
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
    return [AssetAmount(asset=asset, amount=amount) for asset, amount in totals.items()]


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
    gains = {address: dict(table.get(address, {})) for address in attackers}
    losses: dict[str, dict[str, int]] = {}
    for address, assets in table.items():
        if address in attackers or address == coinbase:
            continue
        lost = {asset: -delta for asset, delta in assets.items() if delta < 0}
        if lost:
            losses[address] = lost
    return ProfitReport(
        sender=lower(result.sender),
        attackers=attackers,
        gains=_rows(gains),
        losses=_rows(losses),
        net_gain=_totals(gains),
        total_loss=_totals(losses),
        gas_fee_wei=gas_fee(result),
    )
