"""Bundled devnet scenarios: Solidity sources, compiled artifacts, and the scenario registry.

Add a scenario by writing `<id>.py` with a module-level `SCENARIO = declared("<id>", stage)`, its
catalog facts in `facts.toml`, and listing it in `SCENARIOS` (the order here is the order
scenarios are staged on the devnet).
"""

from __future__ import annotations

from timemachine.catalog.scenarios import (
    amm_swaps,
    cheque_cashed_once,
    flash_loan_arbitrage,
    governance_flash_takeover,
    governance_vote,
    integer_overflow_token,
    lending_liquidation,
    mev_arbitrage,
    mev_jit_liquidity,
    mev_liquidation,
    mev_sandwich,
    oracle_manipulation_lending,
    reentrancy_bank,
    reentrancy_vault_shares,
    router_arbitrary_call,
    self_transfer_accounting,
    signature_replay_cheque,
    unprotected_initializer,
    vault_deposit_withdraw,
    vault_donation_inflation,
)
from timemachine.catalog.scenarios.base import Scenario
from timemachine.errors import NotFoundError

SCENARIOS: tuple[Scenario, ...] = (
    reentrancy_bank.SCENARIO,
    reentrancy_vault_shares.SCENARIO,
    unprotected_initializer.SCENARIO,
    signature_replay_cheque.SCENARIO,
    vault_deposit_withdraw.SCENARIO,
    cheque_cashed_once.SCENARIO,
    integer_overflow_token.SCENARIO,
    amm_swaps.SCENARIO,
    oracle_manipulation_lending.SCENARIO,
    lending_liquidation.SCENARIO,
    vault_donation_inflation.SCENARIO,
    router_arbitrary_call.SCENARIO,
    governance_flash_takeover.SCENARIO,
    governance_vote.SCENARIO,
    self_transfer_accounting.SCENARIO,
    flash_loan_arbitrage.SCENARIO,
    mev_sandwich.SCENARIO,
    mev_arbitrage.SCENARIO,
    mev_liquidation.SCENARIO,
    mev_jit_liquidity.SCENARIO,
)


def get_scenario(scenario_id: str) -> Scenario:
    """The registered scenario `scenario_id`, or NotFoundError naming the known ones."""
    for scenario in SCENARIOS:
        if scenario.id == scenario_id:
            return scenario
    known = ", ".join(s.id for s in SCENARIOS)
    raise NotFoundError(f"no bundled scenario {scenario_id!r}; known: {known}")


__all__ = ["SCENARIOS", "Scenario", "get_scenario"]
