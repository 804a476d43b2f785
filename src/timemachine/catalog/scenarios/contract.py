"""A deployed scenario contract bound to the chain builder, for terse scenario scripts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from timemachine.catalog.artifacts import Artifact, load_artifact
from timemachine.catalog.builder import CALL_GAS, DEPLOY_GAS, ChainBuilder


@dataclass(frozen=True)
class Contract:
    """A contract at `address` whose calls are queued on `chain`."""

    chain: ChainBuilder
    name: str
    address: str
    artifact: Artifact

    async def send(
        self,
        sender: str,
        function: str,
        *args: Any,
        value: int = 0,
        gas: int = CALL_GAS,
        expect_revert: bool = False,
    ) -> str:
        """Queue a call of `function(*args)` from actor `sender`; return the tx hash."""
        return await self.chain.send(
            sender,
            self.address,
            self.artifact.calldata(function, *args),
            value=value,
            gas=gas,
            what=f"{sender} -> {self.name}.{function}",
            expect_revert=expect_revert,
        )


async def deploy(
    chain: ChainBuilder,
    sender: str,
    artifact_name: str,
    *args: Any,
    name: str | None = None,
    gas: int = DEPLOY_GAS,
) -> Contract:
    """Queue the deployment of a bundled contract and return it (usable once mined)."""
    artifact = load_artifact(artifact_name)
    label = name or artifact_name
    address = await chain.deploy(sender, artifact.deploy_data(*args), name=label, gas=gas)
    return Contract(chain, label, address, artifact)
