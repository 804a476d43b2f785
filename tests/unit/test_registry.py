"""Chain registry: lookups, and the hardfork of real blocks at fork boundaries."""

from __future__ import annotations

from typing import Any

import pytest

from timemachine.chain.hardforks import (
    ETHEREUM_HARDFORKS,
    OPTIMISM_HARDFORKS,
    ethereum_equivalent,
    hardfork_at,
)
from timemachine.chain.registry import (
    CHAINS,
    DEVNET_CHAIN_ID,
    ChainInfo,
    find_chain,
    get_chain,
    hardfork_for_block,
    known_chains,
    op_hardfork_for_block,
)
from timemachine.errors import InvalidInputError
from timemachine.settings import Settings

RANDAO = "0x" + "ab" * 32


def block(number: int, timestamp: int, **fields: Any) -> dict[str, Any]:
    """A raw JSON-RPC block as a node returns it (hex quantities)."""
    raw: dict[str, Any] = {
        "number": hex(number),
        "timestamp": hex(timestamp),
        "difficulty": "0x0",
        "mixHash": RANDAO,
    }
    raw.update(fields)
    return raw


MAINNET = get_chain(1)

# Timestamps of the block-numbered forks only need to be before Shanghai.
LONDON_TS = 1_628_166_822
PARIS_TS = 1_663_224_179
SHANGHAI_TS = 1_681_338_455
CANCUN_TS = 1_710_338_135
PRAGUE_TS = 1_746_612_311
OSAKA_TS = 1_764_798_551


class TestMainnetSchedule:
    @pytest.mark.parametrize(
        ("number", "expected"),
        [
            (0, "frontier"),
            (1_149_999, "frontier"),
            (1_150_000, "homestead"),
            (1_920_000, "dao"),
            (2_462_999, "dao"),
            (2_463_000, "tangerine"),
            (2_675_000, "spuriousdragon"),
            (4_369_999, "spuriousdragon"),
            (4_370_000, "byzantium"),
            (7_279_999, "byzantium"),
            (7_280_000, "petersburg"),
            (9_068_999, "petersburg"),
            (9_069_000, "istanbul"),
            (9_200_000, "muirglacier"),
            (12_243_999, "muirglacier"),
            (12_244_000, "berlin"),
            (12_964_999, "berlin"),
            (12_965_000, "london"),
            (13_773_000, "arrowglacier"),
            (15_050_000, "grayglacier"),
            (15_537_393, "grayglacier"),
            (15_537_394, "paris"),
        ],
    )
    def test_block_numbered_forks(self, number: int, expected: str) -> None:
        # Timestamps before Shanghai, so only the block number decides.
        assert hardfork_for_block(MAINNET, block(number, PARIS_TS)) == expected

    @pytest.mark.parametrize(
        ("timestamp", "expected"),
        [
            (SHANGHAI_TS - 1, "paris"),
            (SHANGHAI_TS, "shanghai"),
            (CANCUN_TS - 1, "shanghai"),
            (CANCUN_TS, "cancun"),
            (PRAGUE_TS - 1, "cancun"),
            (PRAGUE_TS, "prague"),
            (OSAKA_TS - 1, "prague"),
            (OSAKA_TS, "osaka"),
            (1_765_290_071, "bpo1"),
            (1_767_747_671, "bpo2"),
        ],
    )
    def test_timestamped_forks(self, timestamp: int, expected: str) -> None:
        assert hardfork_for_block(MAINNET, block(20_000_000, timestamp)) == expected

    def test_first_blocks_of_timestamped_forks(self) -> None:
        # bluealloy/revm SpecId docs: Shanghai block 17034870, Cancun 19426587, Prague 22431084.
        assert hardfork_for_block(MAINNET, block(17_034_870, SHANGHAI_TS)) == "shanghai"
        assert hardfork_for_block(MAINNET, block(19_426_587, CANCUN_TS)) == "cancun"
        assert hardfork_for_block(MAINNET, block(22_431_084, PRAGUE_TS)) == "prague"

    def test_schedule_beats_header_inference(self) -> None:
        # A post-merge header shape is ignored on a scheduled chain: the schedule decides.
        raw = block(12_965_000, LONDON_TS, baseFeePerGas="0x1", withdrawalsRoot="0x" + "00" * 32)
        assert hardfork_for_block(MAINNET, raw) == "london"

    def test_pending_block_is_rejected(self) -> None:
        with pytest.raises(InvalidInputError, match="pending"):
            hardfork_for_block(MAINNET, {"number": None, "timestamp": "0x1"})


class TestOtherChains:
    @pytest.mark.parametrize(
        ("chain_id", "number", "timestamp", "expected"),
        [
            # Sepolia
            (11_155_111, 1_450_408, 1_656_000_000, "london"),
            (11_155_111, 1_450_409, 1_656_000_000, "paris"),
            (11_155_111, 3_000_000, 1_677_557_088, "shanghai"),
            (11_155_111, 5_200_000, 1_706_655_072, "cancun"),
            (11_155_111, 7_840_000, 1_741_159_776, "prague"),
            (11_155_111, 9_000_000, 1_760_427_360, "osaka"),
            # BSC: Berlin and London at 31302048, Kepler/Haber/Pascal by time
            (56, 31_302_047, 1_690_000_000, "istanbul"),
            (56, 31_302_048, 1_690_000_000, "london"),
            (56, 35_000_000, 1_705_996_799, "london"),
            (56, 35_000_000, 1_705_996_800, "shanghai"),
            (56, 39_000_000, 1_718_863_500, "cancun"),
            (56, 47_000_000, 1_742_436_599, "cancun"),
            (56, 47_000_000, 1_742_436_600, "prague"),
            # Polygon PoS: all by block
            (137, 3_394_999, 0, "petersburg"),
            (137, 3_395_000, 0, "istanbul"),
            (137, 14_750_000, 0, "berlin"),
            (137, 23_849_999, 0, "berlin"),
            (137, 23_850_000, 0, "london"),
            (137, 50_523_000, 0, "shanghai"),
            (137, 54_875_999, 0, "shanghai"),
            (137, 54_876_000, 0, "cancun"),
            (137, 73_440_256, 0, "prague"),
            # OP Mainnet: Bedrock block, then OP-stack timestamps
            (10, 105_235_062, 1_686_068_900, "berlin"),
            (10, 105_235_063, 1_686_068_903, "paris"),
            (10, 114_000_000, 1_704_992_401, "shanghai"),
            (10, 117_000_000, 1_710_374_401, "cancun"),
            (10, 135_000_000, 1_746_806_400, "cancun"),
            (10, 135_000_000, 1_746_806_401, "prague"),
            # Base: Bedrock at genesis
            (8453, 0, 1_686_789_347, "paris"),
            (8453, 9_000_000, 1_704_992_401, "shanghai"),
            (8453, 11_000_000, 1_710_374_401, "cancun"),
            (8453, 30_000_000, 1_746_806_401, "prague"),
        ],
    )
    def test_schedules(self, chain_id: int, number: int, timestamp: int, expected: str) -> None:
        raw = block(number, timestamp, difficulty="0x2")
        assert hardfork_for_block(get_chain(chain_id), raw) == expected

    @pytest.mark.parametrize(
        ("chain_id", "number", "timestamp", "expected"),
        [
            (10, 100_000_000, 1_680_000_000, "bedrock"),
            (10, 105_235_063, 1_686_068_903, "regolith"),
            (10, 114_000_000, 1_704_992_401, "canyon"),
            (10, 117_000_000, 1_710_374_401, "ecotone"),
            (10, 122_000_000, 1_720_627_201, "fjord"),
            (10, 125_000_000, 1_726_070_401, "granite"),
            (10, 130_000_000, 1_736_445_601, "holocene"),
            (10, 135_000_000, 1_746_806_401, "isthmus"),
            (10, 145_000_000, 1_764_691_201, "jovian"),
            (8453, 0, 1_686_789_347, "regolith"),
            (8453, 38_000_000, 1_764_691_200, "isthmus"),
            (8453, 38_000_000, 1_764_691_201, "jovian"),
        ],
    )
    def test_op_stack_names(
        self, chain_id: int, number: int, timestamp: int, expected: str
    ) -> None:
        assert op_hardfork_for_block(get_chain(chain_id), block(number, timestamp)) == expected

    def test_op_names_only_for_op_stack_chains(self) -> None:
        assert op_hardfork_for_block(MAINNET, block(1, 1)) is None

    def test_op_and_ethereum_schedules_agree(self) -> None:
        for chain in (get_chain(10), get_chain(8453)):
            assert chain.schedule is not None
            assert chain.op_schedule is not None
            for number, timestamp in [
                (105_235_063, t) for t in range(1_700_000_000, 1_770_000_000, 86_400)
            ]:
                op_name = hardfork_at(chain.op_schedule, number, timestamp)
                eth_name = hardfork_at(chain.schedule, number, timestamp)
                assert ethereum_equivalent(op_name) == eth_name, (chain.name, timestamp)


def nitro_block(number: int, timestamp: int, arbos: int) -> dict[str, Any]:
    mix = (5).to_bytes(8, "big") + (19_000_000).to_bytes(8, "big") + arbos.to_bytes(8, "big")
    return block(
        number,
        timestamp,
        difficulty="0x1",
        baseFeePerGas="0x989680",
        extraData="0x" + "22" * 32,
        mixHash="0x" + (mix + bytes(8)).hex(),
    )


class TestArbitrum:
    ARB = get_chain(42_161)

    @pytest.mark.parametrize(
        ("arbos", "expected"),
        [(10, "london"), (11, "shanghai"), (20, "cancun"), (32, "cancun"), (40, "prague")],
    )
    def test_header_arbos_version_decides(self, arbos: int, expected: str) -> None:
        # Block number and timestamp deliberately disagree with the fallback schedule.
        assert hardfork_for_block(self.ARB, nitro_block(1, 1, arbos)) == expected

    def test_schedule_when_header_has_no_arbos_version(self) -> None:
        assert hardfork_for_block(self.ARB, block(184_097_478, 1_708_804_000)) == "london"
        assert hardfork_for_block(self.ARB, block(184_097_479, 1_708_804_873)) == "shanghai"
        assert hardfork_for_block(self.ARB, block(190_301_729, 1_710_424_089)) == "cancun"
        assert hardfork_for_block(self.ARB, block(350_000_000, 1_750_176_000)) == "prague"


class TestUnknownAndDevnet:
    def test_unknown_chain_never_raises(self) -> None:
        chain = get_chain(43_114)
        assert chain == ChainInfo(
            chain_id=43_114, name="evm-43114", native_symbol="NATIVE", known=False
        )
        assert chain.schedule is None
        assert chain.rpc_env is None
        assert chain.wrapped_native is None

    def test_unknown_chain_uses_header_inference(self) -> None:
        chain = get_chain(999_999)
        london = block(5, 5, difficulty="0x5", baseFeePerGas="0x1")
        cancun = block(
            5, 5, baseFeePerGas="0x1", withdrawalsRoot="0x0", parentBeaconBlockRoot="0x0"
        )
        assert hardfork_for_block(chain, london) == "london"
        assert hardfork_for_block(chain, cancun) == "cancun"
        assert hardfork_for_block(chain, block(5, 5, difficulty="0x5")) == "berlin"

    def test_devnet(self) -> None:
        devnet = get_chain(DEVNET_CHAIN_ID)
        assert devnet.name == "devnet"
        assert devnet.known
        assert devnet.schedule is None
        prague = block(0, 1, baseFeePerGas="0x1", parentBeaconBlockRoot="0x0", requestsHash="0x0")
        assert hardfork_for_block(devnet, prague) == "prague"


class TestFindChain:
    @pytest.mark.parametrize(
        ("text", "chain_id"),
        [
            ("ethereum", 1),
            ("Ethereum", 1),
            ("mainnet", 1),
            ("eth", 1),
            (" ETH ", 1),
            ("1", 1),
            ("0x1", 1),
            ("sepolia", 11_155_111),
            ("BSC", 56),
            ("bnb smart chain", 56),
            ("BNB_Chain", 56),
            ("polygon", 137),
            ("matic", 137),
            ("Polygon PoS", 137),
            ("Arbitrum", 42_161),
            ("arbitrum one", 42_161),
            ("optimism", 10),
            ("OP Mainnet", 10),
            ("base", 8453),
            ("0x2105", 8453),
            ("devnet", 31_337),
            ("anvil", 31_337),
        ],
    )
    def test_names_aliases_and_ids(self, text: str, chain_id: int) -> None:
        assert find_chain(text).chain_id == chain_id

    def test_unknown_numeric_id_is_an_unknown_evm(self) -> None:
        chain = find_chain("43114")
        assert chain.name == "evm-43114"
        assert not chain.known
        assert find_chain("evm-43114") == chain

    @pytest.mark.parametrize("text", ["avalanche", "", "0", "-1", "1.5", "0xzz", "evm-"])
    def test_unknown_names_raise_a_readable_error(self, text: str) -> None:
        with pytest.raises(InvalidInputError) as caught:
            find_chain(text)
        message = str(caught.value)
        assert repr(text) in message
        for name in ("ethereum", "bsc", "polygon", "arbitrum", "optimism", "base", "devnet"):
            assert name in message
        assert caught.value.exit_code == 2


class TestRegistryData:
    def test_chain_ids_and_names(self) -> None:
        assert {c.chain_id: c.name for c in known_chains()} == {
            1: "ethereum",
            11_155_111: "sepolia",
            56: "bsc",
            137: "polygon",
            42_161: "arbitrum",
            10: "optimism",
            8453: "base",
            31_337: "devnet",
        }

    def test_names_and_aliases_are_unique(self) -> None:
        keys = [key for c in CHAINS.values() for key in (c.name, *c.aliases)]
        assert len(keys) == len(set(keys))

    def test_rpc_env_names_settings_attributes(self) -> None:
        assert {c.name: c.rpc_env for c in known_chains() if c.rpc_env} == {
            "ethereum": "web3_rpc_url",
            "bsc": "bsc_rpc_url",
            "polygon": "polygon_rpc_url",
        }
        fields = Settings.model_fields
        for chain in known_chains():
            if chain.rpc_env:
                assert chain.rpc_env in fields

    def test_native_symbols_and_wrapped_tokens(self) -> None:
        assert get_chain(56).native_symbol == "BNB"
        assert get_chain(137).native_symbol == "POL"
        assert get_chain(1).wrapped_native == "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
        assert get_chain(56).wrapped_native == "0xbb4CdB9CBd36B01bD1cBaEBF2De08d9173bc095c"
        assert get_chain(10).wrapped_native == get_chain(8453).wrapped_native
        for chain in known_chains():
            if chain.wrapped_native:
                assert chain.wrapped_native.startswith("0x")
                assert len(chain.wrapped_native) == 42

    def test_schedule_names_run_on_anvil(self) -> None:
        for chain in known_chains():
            for fork in chain.schedule or ():
                assert fork.name in ETHEREUM_HARDFORKS, (chain.name, fork.name)
            for fork in chain.op_schedule or ():
                assert fork.name in OPTIMISM_HARDFORKS, (chain.name, fork.name)
            assert (chain.op_schedule is not None) == chain.is_optimism

    def test_scheduled_chains_start_at_genesis(self) -> None:
        for chain in known_chains():
            for forks in (chain.schedule, chain.op_schedule):
                if forks is not None:
                    assert forks[0].activation.active(0, 0), chain.name

    def test_block_times_are_positive(self) -> None:
        assert all(c.block_time >= 1 for c in known_chains())
        assert get_chain(1).block_time == 12
