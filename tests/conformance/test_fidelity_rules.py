"""The rules behind the fidelity verdict: which backend is exact for a fork and why, geth's
wording for failed precompiles (from anvil's frames and from py-evm's messages), and the
hardfork a geth chain config gives a block."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from eth._utils.blake2.coders import extract_blake2b_parameters
from eth_utils.exceptions import ValidationError

from timemachine.chain.geth_config import hardfork_for_config, node_chain_config
from timemachine.ports import ForkSpec
from timemachine.pyevm.precompile_errors import precompile_error
from timemachine.replay.backends import (
    BackendChoice,
    ByFork,
    PyEvmBackend,
    exact_backend,
    is_set_code_submission,
)
from timemachine.replay.precompiles import geth_precompile_error, with_geth_precompile_errors

BLAKE2F = "0x0000000000000000000000000000000000000009"
POINT_EVALUATION = "0x000000000000000000000000000000000000000a"


def test_the_exact_backend_and_why() -> None:
    assert exact_backend("frontier").engine == "pyevm"
    assert exact_backend("berlin").reason == (
        "py-evm: berlin is before London, where anvil 1.7.1 (revm) misprices SSTORE, EXP and "
        "SELFDESTRUCT refunds; py-evm charges what geth charges"
    )
    assert exact_backend("london").engine == "anvil"
    assert exact_backend("prague").reason == "anvil: it matches geth under prague"
    set_code = exact_backend("prague", set_code=True)
    assert set_code.engine == "pyevm"
    assert set_code.reason.startswith("py-evm: an EIP-7702 set-code transaction")
    assert is_set_code_submission(("eth_sendRawTransaction", ["0x04f8"]))
    assert is_set_code_submission(("eth_sendTransaction", [{"type": "0x4"}]))
    assert not is_set_code_submission(("eth_sendTransaction", [{"type": "0x2"}]))


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def test_geths_blake2f_errors_from_the_input_anvil_traced() -> None:
    assert geth_precompile_error(BLAKE2F, _hex(bytes(212))) == "invalid input length"
    assert geth_precompile_error(BLAKE2F, _hex(bytes(212) + b"\x02")) == "invalid final flag"
    assert geth_precompile_error(BLAKE2F, _hex(bytes(212) + b"\x01")) is None
    failed: dict[str, Any] = {
        "type": "CALLCODE",
        "to": BLAKE2F,
        "input": "0x00",
        "error": "precompiled failed",
    }
    frame: dict[str, Any] = {
        "type": "CALL",
        "to": "0x1",
        "error": "execution reverted",
        "calls": [
            {"type": "CALLCODE", "to": BLAKE2F, "input": "0x00", "error": "precompiled failed"}
        ],
    }
    fixed = with_geth_precompile_errors(frame)
    assert fixed["calls"][0]["error"] == "invalid input length"
    assert fixed["error"] == "execution reverted"
    assert failed["error"] == "precompiled failed"  # the input is left as it was


def test_geths_pairing_point_evaluation_and_bls_errors() -> None:
    ecpairing = "0x0000000000000000000000000000000000000008"
    assert geth_precompile_error(ecpairing, _hex(bytes(191))) == "bad elliptic curve pairing size"
    assert geth_precompile_error(ecpairing, _hex(bytes(192))) is None  # a bad point: ambiguous
    assert geth_precompile_error(POINT_EVALUATION, _hex(bytes(191))) == "invalid input length"
    commitment = bytes(range(48))
    versioned = b"\x01" + hashlib.sha256(commitment).digest()[1:]
    proof_input = versioned + bytes(64) + commitment + bytes(48)
    assert geth_precompile_error(POINT_EVALUATION, _hex(bytes(32) + proof_input[32:])) == (
        "mismatched versioned hash"
    )
    assert geth_precompile_error(POINT_EVALUATION, _hex(proof_input)) == (
        "error verifying kzg proof"
    )
    assert geth_precompile_error("0x0b", _hex(bytes(255))) == "invalid input length"
    assert geth_precompile_error("0x0c", _hex(bytes(320))) is None
    assert geth_precompile_error("0x01", "0x") is None  # ecrecover never fails


@pytest.mark.parametrize(
    ("data", "geth"),
    [(bytes(212), "invalid input length"), (bytes(212) + b"\x07", "invalid final flag")],
)
def test_geths_blake2f_errors_from_py_evms_messages(data: bytes, geth: str) -> None:
    with pytest.raises(ValidationError) as raised:
        extract_blake2b_parameters(data)
    # py-evm's blake2f precompile wraps the validation failure this way.
    message = f"Blake2b input parameter validation failure: {raised.value}"
    assert precompile_error(message) == geth
    assert precompile_error("Invalid ECADD parameters") is None


def test_the_hardfork_of_a_geth_chain_config() -> None:
    config = {"chainId": 3, "byzantiumBlock": 10, "londonBlock": 20, "shanghaiTime": 500}
    assert hardfork_for_config(config, 9, 0) == "frontier"
    assert hardfork_for_config(config, 10, 0) == "byzantium"
    assert hardfork_for_config(config, 30, 1_000) == "london"  # no TTD of 0: not merged
    assert hardfork_for_config(config, 30, 1_000, merged=True) == "shanghai"
    info = {"protocols": {"eth": {"config": config}}}
    assert node_chain_config(info) == config
    assert node_chain_config({"protocols": {}}) is None
    assert node_chain_config("not a node info") is None


def test_by_fork_chooses_per_fork_and_keeps_anvil_where_a_fork_needs_it() -> None:
    anvil, pyevm = PyEvmBackend(), PyEvmBackend()  # only `choose` is exercised here
    auto = ByFork(anvil, pyevm)
    assert auto.choose(ForkSpec(hardfork="byzantium")).engine == "pyevm"
    assert auto.choose(ForkSpec(hardfork="cancun")).engine == "anvil"
    assert auto.choose(ForkSpec(hardfork="prague", set_code=True)).engine == "pyevm"
    kept = auto.choose(ForkSpec(hardfork="byzantium", needs_anvil="the sequence spans blocks"))
    assert kept.engine == "anvil"
    assert kept.reason.startswith("anvil: the sequence spans blocks (py-evm would be exact: ")
    assert ByFork(anvil, pyevm, "anvil").choose(ForkSpec(hardfork="byzantium")) == BackendChoice(
        "anvil", "anvil: the backend asked for"
    )
