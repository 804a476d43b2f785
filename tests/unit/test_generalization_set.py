"""The generalization set is marked, kept apart from the bundled set, and names known classes."""

from __future__ import annotations

import inspect

from timemachine.catalog.artifacts import artifact_names, bundled_abis, load_artifact
from timemachine.catalog.scenarios import SCENARIOS
from timemachine.catalog.scenarios.generalization import (
    ALSO_ACCEPTED,
    GENERALIZATION_SCENARIOS,
    PRIOR_RELATIONSHIP,
)
from timemachine.catalog.scenarios.generalization.kit import ARTIFACTS
from timemachine.devnet import run_devnet
from timemachine.models.taxonomy import VulnerabilityClass

#: Classes introduced by issue 15, not (yet) in the taxonomy the first set uses.
NEW_CLASSES = {"value_extraction", "missing_access_control", "read_only_reentrancy"}
KNOWN = {c.value for c in VulnerabilityClass} | NEW_CLASSES


def test_the_set_has_at_least_12_exploits_and_8_look_alikes() -> None:
    exploits = [s for s in GENERALIZATION_SCENARIOS if not s.benign]
    benign = [s for s in GENERALIZATION_SCENARIOS if s.benign]
    assert (len(exploits) >= 12, len(benign) >= 8) == (True, True)


def test_ids_are_marked_unique_and_apart_from_the_bundled_set() -> None:
    ids = [s.id for s in GENERALIZATION_SCENARIOS]
    assert len(set(ids)) == len(ids)
    assert all(i.startswith("gen-") for i in ids)
    assert not set(ids) & {s.id for s in SCENARIOS}


def test_the_bundled_devnet_stages_the_first_set_only() -> None:
    default = inspect.signature(run_devnet).parameters["scenarios"].default
    assert default is SCENARIOS


def test_every_expected_class_is_known() -> None:
    for scenario in GENERALIZATION_SCENARIOS:
        assert scenario.vulnerability_class in KNOWN | {"none"}, scenario.id
        assert scenario.benign or scenario.severity == "critical", scenario.id
    exploits = {s.id for s in GENERALIZATION_SCENARIOS if not s.benign}
    assert set(ALSO_ACCEPTED) <= exploits
    assert set(PRIOR_RELATIONSHIP) <= exploits
    assert all(classes <= KNOWN for classes in ALSO_ACCEPTED.values())


def test_its_contracts_are_unknown_to_the_decoders() -> None:
    own = artifact_names(ARTIFACTS)
    assert "StablePool" in own
    assert "HookToken" in own
    assert not set(own) & set(artifact_names())
    known = {
        abi_entry["name"] for abi in bundled_abis() for abi_entry in abi if "name" in abi_entry
    }
    assert "getVirtualPrice" not in known
    assert load_artifact("HookToken", ARTIFACTS).compiler["version"].startswith("0.7.6+")
    assert load_artifact("StablePool", ARTIFACTS).compiler["version"].startswith("0.8.37+")
