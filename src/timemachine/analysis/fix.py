"""Fix verification: an exploit replayed against original and patched code, judged by profit."""

from __future__ import annotations

from collections.abc import Sequence

from timemachine.analysis.evidence import amount_text, deltas, naming_of, naming_scope
from timemachine.analysis.profit import profit_report
from timemachine.models.analysis import AssetAmount
from timemachine.models.replay import ReplayResult
from timemachine.models.whatif import AssetDelta, CodePatch, FixVerification


def attacker_net(result: ReplayResult, attackers: Sequence[str]) -> dict[str, int]:
    """The combined net change per asset of `attackers` (lower-cased addresses) in `result`."""
    table = deltas(result)
    net: dict[str, int] = {}
    for address in dict.fromkeys(attackers):
        for asset, delta in table.get(address, {}).items():
            net[asset] = net.get(asset, 0) + delta
    return net


def verify_fix(
    original: ReplayResult, patched: ReplayResult, patches: list[CodePatch]
) -> FixVerification:
    """Stopped when the patched run reverts, or when the attacker side gains no asset at all (ETH
    after gas counts). The attacker side is what the unpatched run recognizes as attacker-
    controlled (where the exploit worked), in both runs: in a patched run a victim that now
    loses nothing can look like an attacker's helper.

    Gas makes the sender's ETH negative in any run that does nothing, so "gains nothing" means
    no asset above 0, not every asset exactly 0.
    """
    before, after = profit_report(original), profit_report(patched)
    patched_addresses = {patch.address.lower() for patch in patches}
    attackers = [address for address in before.attackers if address not in patched_addresses]
    original_net = attacker_net(original, attackers)
    patched_net = attacker_net(patched, attackers)
    assets = sorted(dict.fromkeys([*original_net, *patched_net]), key=lambda asset: asset != "ETH")
    meta = {
        ("ETH" if change.asset == "ETH" else change.asset.lower()): change
        for change in [*original.balance_changes, *patched.balance_changes]
    }
    differences = [
        AssetDelta(
            asset=asset,
            symbol=meta[asset].symbol if asset in meta else None,
            decimals=meta[asset].decimals if asset in meta else None,
            original=original_net.get(asset, 0),
            patched=patched_net.get(asset, 0),
            difference=patched_net.get(asset, 0) - original_net.get(asset, 0),
        )
        for asset in assets
    ]
    gained = [row for row in differences if row.patched > 0]
    reverted = patched.replayed.status == 0
    reason_text = patched.trace.revert_reason or patched.trace.error
    if reverted:
        reason = f"the exploit transaction reverts against the patched code ({reason_text})"
    elif not gained:
        reason = "the exploit runs but the attacker side gains nothing (no asset above 0)"
    else:
        with naming_scope(naming_of(patched)):
            parts = ", ".join(amount_text(row.asset, row.patched) for row in gained)
        reason = f"the attacker side still gains {parts}"
    stopped = reverted or not gained
    return FixVerification(
        tx_hash=original.tx_hash,
        patches=patches,
        stopped=stopped,
        verdict="stopped" if stopped else "still exploitable",
        reason=reason,
        original_status=original.replayed.status,
        patched_status=patched.replayed.status,
        patched_revert_reason=reason_text if reverted else None,
        original_profit=before,
        patched_profit=after,
        profit_difference=differences,
        patched_loss=[AssetAmount(asset=a.asset, amount=a.amount) for a in after.total_loss],
    )
