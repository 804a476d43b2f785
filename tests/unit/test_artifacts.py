"""The committed scenario artifacts match their Solidity sources and load by name."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from timemachine.catalog.artifacts import artifact_names, load_artifact
from timemachine.errors import NotFoundError

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "compile_contracts.py"
CONTRACTS = REPO / "src" / "timemachine" / "catalog" / "scenarios" / "contracts"


def _require_solcjs() -> None:
    pinned = [
        REPO / "node_modules" / "solc" / "solc.js",
        REPO / "node_modules" / "solc-0.7" / "solcjs",
    ]
    if all(path.exists() for path in pinned):
        return
    reason = "solcjs not installed (run `npm install` in the repository root)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must check the artifacts")
    pytest.skip(reason)


def test_artifacts_are_up_to_date() -> None:
    _require_solcjs()
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, (
        f"stale artifacts; run `python scripts/compile_contracts.py`\n{done.stdout}{done.stderr}"
    )


def test_every_source_has_an_artifact_with_its_hash() -> None:
    sources = sorted(CONTRACTS.glob("*.sol"))
    assert [path.stem for path in sources] == artifact_names()
    for path in sources:
        artifact = load_artifact(path.stem)
        assert artifact.source_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        # solc 0.7.6 (pre-0.8 scenarios) knows no fork after Istanbul
        pre_08 = artifact.compiler["version"].startswith("0.7.6+")
        expected_evm = "istanbul" if pre_08 else "prague"
        assert artifact.compiler["settings"]["evmVersion"] == expected_evm
        assert artifact.compiler["version"].startswith("0.8.37+") or pre_08
        assert len(artifact.deployed_bytecode) > 2


def test_each_source_is_built_by_the_compiler_its_pragma_asks_for() -> None:
    versions = {name: load_artifact(name).compiler["version"] for name in artifact_names()}
    assert sorted(name for name, version in versions.items() if version.startswith("0.7.6+")) == [
        "BatchToken",
        "BatchTokenFixed",
    ]
    assert all(v.startswith(("0.7.6+", "0.8.37+")) for v in versions.values())


def test_load_artifact_is_cached_and_encodes_calls() -> None:
    bank = load_artifact("EtherBank")
    assert load_artifact("EtherBank") is bank
    assert bank.calldata("withdraw", 10**18).hex() == (
        "2e1a7d4d" + "0000000000000000000000000000000000000000000000000de0b6b3a7640000"
    )
    assert bank.calldata("deposit") == bytes.fromhex("d0e30db0")


def test_unknown_artifact_names_the_known_ones() -> None:
    with pytest.raises(NotFoundError, match="EtherBank"):
        load_artifact("NoSuchContract")
