"""A deployed scenario contract bound to the chain builder, for terse scenario scripts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from timemachine.catalog.artifacts import BUNDLED, Artifact, load_artifact
from timemachine.catalog.builder import CALL_GAS, DEPLOY_GAS, ETHER, ChainBuilder
from timemachine.hexutil import hex_to_bytes


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

    async def fund(self, function: str, ether: Mapping[str, int]) -> None:
        """Each actor of `ether` calls the payable `function` with its amount of whole ether, in
        that order; then the block is mined."""
        for actor, amount in ether.items():
            await self.send(actor, function, value=amount * ETHER)
        await self.chain.mine()

    async def call(self, function: str, *args: Any) -> Any:
        """The result of the view `function(*args)` at the last mined block (a tuple when the
        function returns several values)."""
        request = {"to": self.address, "data": "0x" + self.artifact.calldata(function, *args).hex()}
        raw = await self.chain.rpc.call("eth_call", [request, hex(self.chain.block_number)])
        values = self.artifact.decode_output(function, len(args), hex_to_bytes(raw) or b"")
        return values[0] if len(values) == 1 else values

    @classmethod
    def at(
        cls,
        chain: ChainBuilder,
        address: str,
        artifact_name: str,
        name: str,
        *,
        artifacts: str = BUNDLED,
    ) -> Contract:
        """A contract deployed by another contract (or a proxy), bound and labelled `name`."""
        chain.label(address, name)
        return cls(chain, name, address, load_artifact(artifact_name, artifacts))


async def deploy(
    chain: ChainBuilder,
    sender: str,
    artifact_name: str,
    *args: Any,
    name: str | None = None,
    gas: int = DEPLOY_GAS,
    artifacts: str = BUNDLED,
) -> Contract:
    """Queue the deployment of a compiled contract (from the `artifacts` folder, default: the
    bundled ones) and return it (usable once mined)."""
    artifact = load_artifact(artifact_name, artifacts)
    label = name or artifact_name
    address = await chain.deploy(sender, artifact.deploy_data(*args), name=label, gas=gas)
    return Contract(chain, label, address, artifact)
