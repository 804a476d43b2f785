"""What a bundled scenario is: static catalog facts plus the coroutine that stages it."""

from __future__ import annotations

import tomllib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from timemachine.catalog.builder import ChainBuilder, MinedBlock
from timemachine.catalog.devnet import actor_address
from timemachine.catalog.exploit import Drain, Outcome, mine_exploit
from timemachine.catalog.models import ScenarioRecord
from timemachine.catalog.scenarios.world import World
from timemachine.errors import DevnetBuildError


@dataclass(frozen=True)
class Fix:
    """The fixed version of an exploit scenario's vulnerable contract, for `verify-fix`."""

    contract: str
    """Address label (in the devnet history) of the contract to patch."""
    artifact: str
    """The bundled artifact of the fixed contract (`contracts/<artifact>.sol`)."""
    summary: str
    """What the fix changes, in one line."""
    constructor_args: tuple[str, ...] | None = None
    """Constructor arguments of the fixed contract ("@getter" reads the target's getter); None:
    each parameter is read from the target's getter of the same name."""


Stage = Callable[[World], Awaitable[ScenarioRecord]]
_RECORDED = ("id", "title", "description", "vulnerability_class", "benign")
"""The catalog facts a scenario's record carries, under the same names."""


@dataclass(frozen=True)
class Scenario:
    """A bundled exploit (or benign control) that stages itself on the devnet world."""

    id: str
    title: str
    description: str
    vulnerability_class: str
    stage: Stage
    """Deploys, seeds and runs the scenario on `world`, mining its own blocks."""
    severity: str = "low"
    """Catalog severity from the share of the victim's funds lost: critical when (nearly) all,
    high when a large part; benign controls are low."""
    loss_text: str | None = None
    """The loss in words, for the catalog (None for benign controls)."""
    fix: Fix | None = None
    """The minimal real fix of the vulnerable contract (exploit scenarios; None for controls)."""

    @property
    def benign(self) -> bool:
        """A benign control: it looks like an exploit scenario but nothing is stolen."""
        return self.vulnerability_class == "none"

    def record(self, **facts: Any) -> ScenarioRecord:
        """A ScenarioRecord carrying this scenario's catalog facts and the staged `facts`."""
        catalog = {name: getattr(self, name) for name in _RECORDED}
        return ScenarioRecord(**catalog, **facts)

    def exploited(
        self,
        outcome: Drain | Outcome,
        *,
        attacker: str,
        contracts: Sequence[str],
        victims: Sequence[str],
    ) -> ScenarioRecord:
        """The record of an exploit whose transaction was mined and verified as `outcome`: its tx
        and block, the attacker EOA and contracts, the victims, and the measured ground truth."""
        return self.record(
            exploit_tx=outcome.tx,
            block_number=outcome.block.number,
            attacker=attacker,
            attacker_contracts=list(contracts),
            victims=list(victims),
            **outcome.ground_truth(),
        )

    def honest(self, tx: str, block: MinedBlock, sender: str) -> ScenarioRecord:
        """The record of a benign control whose representative `tx`, mined in `block`, was sent
        by actor `sender`."""
        return self.record(exploit_tx=tx, block_number=block.number, attacker=actor_address(sender))

    async def drained(
        self,
        chain: ChainBuilder,
        send: Callable[[], Awaitable[str]],
        *,
        attacker: str,
        contracts: Sequence[str],
        victim: str,
        held: int | None,
        left: int,
        what: str,
    ) -> ScenarioRecord:
        """Mine the exploit `send` queues, check that the one `victim` went from `held` to `left`
        wei and the `attacker` address gained the loss (`mine_exploit`), and record it."""
        drain = await mine_exploit(
            chain, send, victim=victim, attacker=attacker, held=held, left=left, what=what
        )
        return self.exploited(drain, attacker=attacker, contracts=contracts, victims=[victim])

    async def paid_out(
        self,
        chain: ChainBuilder,
        tx: str,
        block: MinedBlock,
        *,
        contract: str,
        held: int,
        left: int,
        payee: str,
        paid: int,
        what: str,
    ) -> ScenarioRecord:
        """The record of a benign control whose mined `tx`, sent by actor `payee`, took `contract`
        from `held` to `left` wei and paid `payee` `paid` wei less its gas fee (else it fails the
        build)."""
        before = block.number - 1
        payee_address = actor_address(payee)
        was, kept = await chain.balance(contract, before), await chain.balance(contract)
        gain = await chain.balance(payee_address) - await chain.balance(payee_address, before)
        if (was, kept) != (held, left) or gain != paid - block.fee(tx):
            raise DevnetBuildError(
                f"{what} {tx} misbehaved: {contract} held {was} wei, kept {kept}, "
                f"{payee} gained {gain} wei"
            )
        return self.honest(tx, block, payee)


@cache
def _catalog_facts() -> dict[str, dict[str, Any]]:
    text = files("timemachine.catalog.scenarios").joinpath("facts.toml").read_text("utf-8")
    return tomllib.loads(text)


def declared(scenario_id: str, stage: Stage) -> Scenario:
    """The scenario `scenario_id`: its catalog facts (`facts.toml`) staged by `stage`."""
    facts = dict(_catalog_facts()[scenario_id])
    fix = facts.pop("fix", None)
    if fix is not None:
        args = fix.pop("constructor_args", None)
        facts["fix"] = Fix(**fix, constructor_args=tuple(args) if args is not None else None)
    return Scenario(id=scenario_id, stage=stage, **facts)
