"""Pure parts of the geth fixture runner: hardfork choice, genesis, block env, prestate fixes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from timemachine.chain.geth_config import hardfork_for_config
from timemachine.conformance.geth import (
    Fixture,
    add_code_hashes,
    anvil_genesis,
    block_env,
    drop_empty_accounts,
    load_fixture,
    submission,
)
from timemachine.errors import FixtureError

MAINNET = {
    "chainId": 1,
    "homesteadBlock": 1150000,
    "eip150Block": 2463000,
    "eip155Block": 2675000,
    "eip158Block": 2675000,
    "byzantiumBlock": 4370000,
    "constantinopleBlock": 7280000,
    "petersburgBlock": 7280000,
    "istanbulBlock": 9069000,
    "muirGlacierBlock": 9200000,
    "berlinBlock": 12244000,
    "londonBlock": 12965000,
    "arrowGlacierBlock": 13773000,
    "grayGlacierBlock": 15050000,
    "shanghaiTime": 1681338455,
    "terminalTotalDifficulty": 58750000000000000000000,
}
DEV = {
    "chainId": 1337,
    "homesteadBlock": 0,
    "byzantiumBlock": 0,
    "londonBlock": 0,
    "shanghaiTime": 0,
    "cancunTime": 0,
    "pragueTime": 1000,
    "terminalTotalDifficulty": 0,
}


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (1, "frontier"),
        (1150000, "homestead"),
        (2463000, "tangerine"),
        (2675000, "spuriousdragon"),
        (4370000, "byzantium"),
        (7280000, "petersburg"),
        (9069000, "istanbul"),
        (9200000, "muirglacier"),
        (12244000, "berlin"),
        (12965000, "london"),
        (15050000, "grayglacier"),
    ],
)
def test_block_forks_follow_the_config(number: int, expected: str) -> None:
    assert hardfork_for_config(MAINNET, number, 1_500_000_000) == expected


def test_a_non_zero_ttd_keeps_the_block_pre_merge_whatever_the_timestamps() -> None:
    assert hardfork_for_config(MAINNET, 17_000_000, 1_700_000_000) == "grayglacier"
    assert hardfork_for_config({**MAINNET, "terminalTotalDifficulty": 10790000}, 1, 2) == "frontier"
    without_ttd = {key: value for key, value in DEV.items() if key != "terminalTotalDifficulty"}
    assert hardfork_for_config(without_ttd, 5, 5000) == "london"


def test_a_zero_ttd_switches_on_paris_and_the_timestamp_forks() -> None:
    assert hardfork_for_config(DEV, 5, 999) == "cancun"
    assert hardfork_for_config(DEV, 5, 1000) == "prague"
    assert hardfork_for_config({**DEV, "terminalTotalDifficulty": "0x0"}, 5, 1000) == "prague"
    only_merge = {"chainId": 1, "londonBlock": 0, "terminalTotalDifficulty": 0}
    assert hardfork_for_config(only_merge, 1, 1) == "paris"


def test_config_keys_match_case_insensitively() -> None:
    """revert_reason.json spells "IstanbulBlock"; geth's Go JSON decoder still honours it."""
    config = {"byzantiumBlock": 0, "petersburgBlock": 0, "IstanbulBlock": 1561651}
    assert hardfork_for_config(config, 1561650, 0) == "petersburg"
    assert hardfork_for_config(config, 1561651, 0) == "istanbul"


def test_forks_listed_out_of_order_are_each_checked_on_their_own() -> None:
    config = {"homesteadBlock": 0, "eip158Block": 10, "byzantiumBlock": 0, "IstanbulBlock": 50}
    assert hardfork_for_config(config, 5, 0) == "byzantium"
    assert hardfork_for_config(config, 60, 0) == "istanbul"


def _fixture(**changes: Any) -> Fixture:
    base: dict[str, Any] = {
        "name": "call_tracer/x",
        "suite": "call_tracer",
        "genesis": {
            "number": "7",
            "timestamp": "100",
            "gasLimit": "30000000",
            "difficulty": "5",
            "miner": "0x00000000000000000000000000000000000000aa",
            "baseFeePerGas": "9",
            "config": {"chainId": 5, "londonBlock": 0},
            "alloc": {
                "0x00000000000000000000000000000000000000bb": {
                    "balance": "0x1",
                    "nonce": "0x2",
                    "code": "0x00",
                    "codeHash": "0x" + "11" * 32,
                    "storage": {},
                }
            },
        },
        "context": {
            "number": "20",
            "timestamp": "0x70",
            "gasLimit": "1000",
            "difficulty": "3",
            "miner": "0x00000000000000000000000000000000000000cc",
            "baseFeePerGas": "11",
        },
        "raw_tx": "0xf8",
        "tracer_config": {},
        "result": {},
    }
    base.update(changes)
    return Fixture(**base)


def test_the_anvil_genesis_is_the_parent_of_the_context_block_without_unknown_fields() -> None:
    genesis = anvil_genesis(_fixture())
    assert genesis["number"] == hex(19)
    assert genesis["timestamp"] == hex(100)
    assert genesis["config"] == {"chainId": 5}
    assert genesis["baseFeePerGas"] == hex(9)
    assert genesis["coinbase"] == "0x00000000000000000000000000000000000000aa"
    assert genesis["alloc"] == {
        "0x00000000000000000000000000000000000000bb": {
            "balance": "0x1",
            "nonce": "0x2",
            "code": "0x00",
            "storage": {},
        }
    }
    assert "excessBlobGas" not in genesis


def test_base_fee_only_under_london_and_blob_fields_only_under_cancun() -> None:
    old = _fixture()
    old.genesis["config"] = {"chainId": 1}
    assert "baseFeePerGas" not in anvil_genesis(old)
    assert block_env(old).base_fee is None
    cancun = _fixture()
    cancun.genesis["config"] = {"chainId": 1, "londonBlock": 0, "terminalTotalDifficulty": 0}
    cancun.genesis["config"]["cancunTime"] = 0
    assert anvil_genesis(cancun)["excessBlobGas"] == "0x0"


def test_block_env_comes_from_the_context_decimal_or_hex() -> None:
    env = block_env(_fixture())
    assert (env.number, env.timestamp, env.gas_limit, env.base_fee) == (20, 0x70, 1000, 11)
    assert env.coinbase == "0x00000000000000000000000000000000000000cc"
    assert env.difficulty == 3
    assert env.prevrandao is None


def test_load_fixture_accepts_input_without_0x(tmp_path: Path) -> None:
    path = tmp_path / "setcode.json"
    path.write_text(
        json.dumps({"genesis": {}, "context": {}, "input": "04f9abcd", "result": {"a": 1}})
    )
    fixture = load_fixture(path, "prestate_tracer")
    assert fixture.raw_tx == "0x04f9abcd"
    assert fixture.tracer_config == {}
    assert fixture.name == "prestate_tracer/setcode"
    assert fixture.tracer == "prestateTracer"
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(FixtureError, match="not a geth tracer fixture"):
        load_fixture(tmp_path / "bad.json", "call_tracer")


def test_non_blob_transactions_are_sent_raw() -> None:
    assert submission("0xf86b") == ([], [("eth_sendRawTransaction", ["0xf86b"])])


def test_code_hash_is_added_wherever_the_account_has_code() -> None:
    accounts: dict[str, Any] = {"0xa": {"balance": "0x0"}, "0xb": {"balance": "0x1"}}
    add_code_hashes(accounts, {"0xa": {"code": "0x6042604255"}, "0xb": {}})
    assert accounts == {
        "0xa": {
            "balance": "0x0",
            "codeHash": "0xfa2f0a459fb0004c3c79afe1ab7612a23f1e649b3b352242f8c7c45a0e3585b6",
        },
        "0xb": {"balance": "0x1"},
    }


def test_accounts_empty_before_the_tx_are_dropped() -> None:
    accounts: dict[str, Any] = {
        "0xempty": {"balance": "0x0", "storage": {"0x01": "0x02"}},
        "0xnonce": {"balance": "0x0", "nonce": 1},
        "0xcode": {"balance": "0x0"},
        "0xrich": {"balance": "0x5"},
    }
    drop_empty_accounts(accounts, {"0xcode": {"code": "0x00"}})
    assert sorted(accounts) == ["0xcode", "0xnonce", "0xrich"]
