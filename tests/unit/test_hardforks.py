"""Hardfork names, schedules and what a block header proves."""

from __future__ import annotations

from typing import Any

import pytest

from timemachine.chain.hardforks import (
    DEFAULT_INFERRED_HARDFORK,
    ETHEREUM_HARDFORKS,
    OP_TO_ETHEREUM,
    OPTIMISM_HARDFORKS,
    ByBlock,
    ByTimestamp,
    arbos_version_from_header,
    ethereum_equivalent,
    hardfork_at,
    hardfork_for_arbos_version,
    infer_hardfork_from_header,
    is_anvil_hardfork,
    is_at_least,
    schedule,
)
from timemachine.hexutil import quantity

RANDAO = "0x" + "ab" * 32
ZERO32 = "0x" + "00" * 32


def header(**fields: Any) -> dict[str, Any]:
    """A legacy (pre-London) proof-of-work header plus `fields`."""
    base: dict[str, Any] = {
        "number": "0x10",
        "timestamp": "0x5f5e100",
        "difficulty": "0x2b5e3af16b1880000",
        "mixHash": RANDAO,
        "extraData": "0x",
    }
    base.update(fields)
    return base


LONDON = {"baseFeePerGas": "0x7"}
PARIS = {**LONDON, "difficulty": "0x0"}
SHANGHAI = {**PARIS, "withdrawalsRoot": ZERO32}
CANCUN = {
    **SHANGHAI,
    "blobGasUsed": "0x0",
    "excessBlobGas": "0x0",
    "parentBeaconBlockRoot": ZERO32,
}
PRAGUE = {**CANCUN, "requestsHash": ZERO32}


class TestNames:
    def test_ethereum_names_are_the_anvil_spellings(self) -> None:
        assert ETHEREUM_HARDFORKS[0] == "frontier"
        assert "grayglacier" in ETHEREUM_HARDFORKS
        assert "graygrimoire" not in ETHEREUM_HARDFORKS
        assert "merge" not in ETHEREUM_HARDFORKS
        assert ETHEREUM_HARDFORKS.index("paris") + 1 == ETHEREUM_HARDFORKS.index("shanghai")

    def test_is_anvil_hardfork_is_case_insensitive(self) -> None:
        assert is_anvil_hardfork("Cancun")
        assert is_anvil_hardfork(" PRAGUE ")
        assert not is_anvil_hardfork("tangerinewhistle")
        assert not is_anvil_hardfork("bpo3")  # parses, but anvil 1.7.1 panics on it

    def test_op_names_need_optimism_mode(self) -> None:
        assert is_anvil_hardfork("isthmus", optimism=True)
        assert not is_anvil_hardfork("isthmus")
        assert not is_anvil_hardfork("cancun", optimism=True)

    def test_every_op_name_but_interop_has_an_ethereum_base(self) -> None:
        assert set(OP_TO_ETHEREUM) == set(OPTIMISM_HARDFORKS) - {"interop"}
        assert set(OP_TO_ETHEREUM.values()) <= set(ETHEREUM_HARDFORKS)

    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("bedrock", "paris"),
            ("Canyon", "shanghai"),
            ("ecotone", "cancun"),
            ("holocene", "cancun"),
            ("isthmus", "prague"),
            ("jovian", "prague"),
            ("london", "london"),
        ],
    )
    def test_ethereum_equivalent(self, name: str, expected: str) -> None:
        assert ethereum_equivalent(name) == expected

    def test_ethereum_equivalent_rejects_unknown_names(self) -> None:
        with pytest.raises(ValueError, match="merge"):
            ethereum_equivalent("merge")

    def test_is_at_least(self) -> None:
        assert is_at_least("cancun", "shanghai")
        assert is_at_least("shanghai", "shanghai")
        assert not is_at_least("paris", "shanghai")
        assert is_at_least("ecotone", "cancun")
        assert not is_at_least("canyon", "cancun")


class TestSchedule:
    SCHEDULE = schedule(
        ("berlin", ByBlock(0)),
        ("london", ByBlock(100)),
        ("paris", ByBlock(200)),
        ("shanghai", ByTimestamp(5_000)),
        ("cancun", ByTimestamp(6_000)),
    )

    @pytest.mark.parametrize(
        ("number", "timestamp", "expected"),
        [
            (0, 0, "berlin"),
            (99, 10, "berlin"),
            (100, 10, "london"),
            (199, 4_999, "london"),
            (200, 4_999, "paris"),
            (250, 4_999, "paris"),
            (250, 5_000, "shanghai"),
            (300, 5_999, "shanghai"),
            (300, 6_000, "cancun"),
            (10**9, 10**12, "cancun"),
        ],
    )
    def test_boundaries(self, number: int, timestamp: int, expected: str) -> None:
        assert hardfork_at(self.SCHEDULE, number, timestamp) == expected

    def test_forks_are_cumulative(self) -> None:
        # A timestamp past Shanghai cannot skip Paris: the block is before the Paris block.
        assert hardfork_at(self.SCHEDULE, 150, 7_000) == "london"

    def test_same_block_forks_resolve_to_the_later_one(self) -> None:
        forks = schedule(("constantinople", ByBlock(5)), ("petersburg", ByBlock(5)))
        assert hardfork_at(forks, 5, 0) == "petersburg"

    def test_rejects_unknown_names(self) -> None:
        with pytest.raises(ValueError, match="merge"):
            schedule(("merge", ByBlock(0)))

    def test_rejects_out_of_order_forks(self) -> None:
        with pytest.raises(ValueError, match="london"):
            schedule(("berlin", ByBlock(10)), ("london", ByBlock(5)))
        with pytest.raises(ValueError, match="paris"):
            schedule(("shanghai", ByTimestamp(10)), ("paris", ByBlock(20)))
        with pytest.raises(ValueError, match="cancun"):
            schedule(("shanghai", ByTimestamp(10)), ("cancun", ByTimestamp(5)))
        with pytest.raises(ValueError, match="at least one"):
            schedule()


class TestHeaderInference:
    @pytest.mark.parametrize(
        ("fields", "expected"),
        [
            ({}, DEFAULT_INFERRED_HARDFORK),
            (LONDON, "london"),
            (PARIS, "paris"),
            (SHANGHAI, "shanghai"),
            (CANCUN, "cancun"),
            (PRAGUE, "prague"),
        ],
    )
    def test_each_header_generation(self, fields: dict[str, Any], expected: str) -> None:
        assert infer_hardfork_from_header(header(**fields)) == expected

    def test_default_is_berlin(self) -> None:
        assert DEFAULT_INFERRED_HARDFORK == "berlin"

    def test_null_fields_count_as_absent(self) -> None:
        block = header(**LONDON, withdrawalsRoot=None, requestsHash=None)
        assert infer_hardfork_from_header(block) == "london"

    def test_blob_fields_alone_do_not_prove_cancun(self) -> None:
        # anvil reports blobGasUsed/excessBlobGas under every hardfork (seen with --hardfork paris)
        block = header(**PARIS, blobGasUsed="0x0", excessBlobGas="0x0")
        assert infer_hardfork_from_header(block) == "paris"

    def test_zero_mixhash_does_not_prove_paris(self) -> None:
        # anvil reports difficulty 0 and a zero mixHash even with --hardfork london
        block = header(**PARIS, mixHash=ZERO32)
        assert infer_hardfork_from_header(block) == "london"

    def test_anvil_osaka_header_is_a_prague_lower_bound(self) -> None:
        # Verbatim fields of an anvil 1.7.1 block started with --hardfork osaka.
        block = {
            "number": "0x0",
            "timestamp": "0x1",
            "difficulty": "0x0",
            "mixHash": ZERO32,
            "baseFeePerGas": "0x3b9aca00",
            "withdrawalsRoot": "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421",
            "blobGasUsed": "0x0",
            "excessBlobGas": "0x0",
            "parentBeaconBlockRoot": ZERO32,
            "requestsHash": "0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        }
        assert infer_hardfork_from_header(block) == "prague"


def nitro_header(arbos: int, **fields: Any) -> dict[str, Any]:
    mix = (7).to_bytes(8, "big") + (19_000_000).to_bytes(8, "big") + arbos.to_bytes(8, "big")
    block: dict[str, Any] = {
        "number": "0xaf7e8c8",
        "timestamp": "0x65d0f000",
        "difficulty": "0x1",
        "baseFeePerGas": "0x989680",
        "extraData": "0x" + "11" * 32,
        "mixHash": "0x" + (mix + bytes(8)).hex(),
    }
    block.update(fields)
    return block


class TestArbitrum:
    @pytest.mark.parametrize(
        ("version", "expected"),
        [
            (6, "london"),
            (10, "london"),
            (11, "shanghai"),
            (19, "shanghai"),
            (20, "cancun"),
            (32, "cancun"),
            (40, "prague"),
            (49, "prague"),
            (50, "osaka"),
            (51, "osaka"),
        ],
    )
    def test_arbos_version_thresholds(self, version: int, expected: str) -> None:
        assert hardfork_for_arbos_version(version) == expected

    def test_reads_arbos_version_from_mixhash(self) -> None:
        assert arbos_version_from_header(nitro_header(32)) == 32

    @pytest.mark.parametrize(
        "fields",
        [
            {"difficulty": "0x0"},
            {"baseFeePerGas": "0x0"},
            {"baseFeePerGas": None},
            {"extraData": "0x"},
            {"mixHash": None},
        ],
    )
    def test_non_nitro_headers_have_no_arbos_version(self, fields: dict[str, Any]) -> None:
        assert arbos_version_from_header(nitro_header(32, **fields)) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0x1a", 26),
        ("0x0", 0),
        ("0x", 0),
        (26, 26),
        ("26", 26),
        (None, None),
        (True, None),
        ("0xzz", None),
        ("", None),
    ],
)
def test_quantity(value: object, expected: int | None) -> None:
    assert quantity(value) == expected
