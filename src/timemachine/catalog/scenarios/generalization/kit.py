"""Shared helpers of the generalization set: its own artifacts, deployment, exact checks."""

from __future__ import annotations

from functools import partial

from eth_utils.address import to_checksum_address

from timemachine.catalog.builder import ChainBuilder
from timemachine.catalog.scenarios.contract import Contract, deploy
from timemachine.errors import DevnetBuildError

ARTIFACTS = "scenarios/generalization/artifacts"
"""The set's compiled contracts (kept apart from the bundled ones: decoders do not know them)."""
ATTACKER = "mallory"
MAX = 2**256 - 1


deploy_own = partial(deploy, artifacts=ARTIFACTS)
"""Queue the deployment of one of the set's contracts (`deploy` from the set's artifacts)."""


def bind(chain: ChainBuilder, address: str, artifact_name: str, name: str) -> Contract:
    """One of the set's contracts at `address` (a proxy or a contract-created one)."""
    return Contract.at(
        chain, to_checksum_address(address), artifact_name, name, artifacts=ARTIFACTS
    )


def expect(what: str, actual: object, expected: object) -> None:
    """Fail the build unless a staged fact is exactly what the scenario expects."""
    if actual != expected:
        raise DevnetBuildError(f"{what}: got {actual!r}, expected {expected!r}")
