"""Bundled devnet scenarios: Solidity sources, compiled artifacts, and the scenario registry.

Add a scenario by writing `<id>.py` with a module-level `SCENARIO` and listing it in `SCENARIOS`
(the order here is the order scenarios are staged on the devnet).
"""

from __future__ import annotations

from timemachine.catalog.scenarios import (
    amm_swaps,
    cheque_cashed_once,
    integer_overflow_token,
    reentrancy_bank,
    reentrancy_vault_shares,
    signature_replay_cheque,
    unprotected_initializer,
    vault_deposit_withdraw,
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
)


def get_scenario(scenario_id: str) -> Scenario:
    """The registered scenario `scenario_id`, or NotFoundError naming the known ones."""
    for scenario in SCENARIOS:
        if scenario.id == scenario_id:
            return scenario
    known = ", ".join(s.id for s in SCENARIOS)
    raise NotFoundError(f"no bundled scenario {scenario_id!r}; known: {known}")


__all__ = ["SCENARIOS", "Scenario", "get_scenario"]
