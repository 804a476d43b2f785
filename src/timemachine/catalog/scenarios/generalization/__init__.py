"""The generalization set: a second, independent scenario set for measuring the detectors.

Written apart from the bundled set (`catalog/scenarios`) and in a different style - its own
contracts and artifacts (`generalization/contracts`, several contracts per file, solc 0.8.37 and
0.7.6, proxies, clones, libraries, inline assembly, custom errors, `unchecked`, ERC-721/777/3156
callbacks), exploits over several transactions, its own tokens and pools (no Uniswap ABI) - so
that detection measured on it says how the detectors do on exploits they were not written for.
Vyper is not available offline, so every contract is Solidity.

Never staged by default: `run_devnet(scenarios=GENERALIZATION_SCENARIOS)` stages it (on the same
shared world) instead of the bundled set; `demo` and the bundled devnet do not change.
"""

from __future__ import annotations

from collections.abc import Mapping

from timemachine.catalog.scenarios.base import Scenario
from timemachine.catalog.scenarios.generalization import (
    accounting,
    callbacks,
    governance,
    liquidation,
    nft_drop,
    permissions,
    proxies,
    reservoir,
    stable_pool,
)

GENERALIZATION_SCENARIOS: tuple[Scenario, ...] = (
    proxies.FEE_WITHDRAWAL,
    proxies.UNPROTECTED_SWEEP,
    proxies.UUPS_HIJACK,
    proxies.ADMIN_UPGRADE,
    stable_pool.READ_ONLY_REENTRANCY,
    stable_pool.LP_EXIT,
    nft_drop.HOOK_CLAIM,
    nft_drop.CAPPED_CLAIM,
    callbacks.ERC777,
    callbacks.FLASH_DEPOSIT,
    callbacks.CROSS_CONTRACT,
    reservoir.LARGE_SWAP,
    reservoir.ARBITRAGE_ROUND_TRIP,
    reservoir.PUMP_SCENARIO,
    accounting.CLONE_DONATION,
    accounting.UNCHECKED_UNDERFLOW,
    accounting.CHECKPOINT_SKIP,
    permissions.VOUCHER_ONCE,
    permissions.VOUCHER_REPLAY,
    permissions.HUB_BATCH,
    permissions.HUB_ARBITRARY_CALL,
    liquidation.FLASH_LIQUIDATION,
    permissions.OPEN_FEED_SETTER,
    permissions.TWO_STEP_TAKEOVER,
    permissions.KEEPER_HARVEST,
    governance.GRANT_SCENARIO,
    governance.SCENARIO,
)
"""Staging order. Exploits carry their primary expected class; look-alikes carry "none"."""

ALSO_ACCEPTED: Mapping[str, frozenset[str]] = {
    "gen-uups-uninitialized": frozenset({"missing_access_control"}),
    "gen-read-only-reentrancy": frozenset({"reentrancy"}),
    "gen-open-feed-setter": frozenset({"price_manipulation"}),
    "gen-ownership-two-step": frozenset({"access_control"}),
}
"""Further classes that also name a scenario's flaw correctly (a finding of one is no false
positive). Besides these, `value_extraction` is right on every exploit that took value."""

PRIOR_RELATIONSHIP: frozenset[str] = frozenset(
    {"gen-clone-vault-donation", "gen-ownership-two-step"}
)
"""Exploits whose attacker was related to the victim before the exploit tx (funded it, or held
its role, in an earlier tx of the attack): outside `value_extraction`'s definition, so that class
is not required there (though still right if reported)."""

__all__ = ["ALSO_ACCEPTED", "GENERALIZATION_SCENARIOS", "PRIOR_RELATIONSHIP"]
