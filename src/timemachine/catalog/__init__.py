"""Exploit catalog and the embedded devnet with its bundled, deterministic scenarios."""

from __future__ import annotations

from timemachine.catalog.devnet import DEVNET_ANVIL_ARGS, DEVNET_CHAIN_ID, anvil_args
from timemachine.catalog.models import DevnetHistory, ScenarioRecord
from timemachine.catalog.scenarios import SCENARIOS, Scenario, get_scenario
from timemachine.catalog.scenarios.history import build_history
from timemachine.errors import DevnetBuildError

__all__ = [
    "DEVNET_ANVIL_ARGS",
    "DEVNET_CHAIN_ID",
    "SCENARIOS",
    "DevnetBuildError",
    "DevnetHistory",
    "Scenario",
    "ScenarioRecord",
    "anvil_args",
    "build_history",
    "get_scenario",
]
