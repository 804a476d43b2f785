"""Chain registry: the chains Time Machine knows by name, and the hardfork each block ran under.

Every activation number below names the file it was read from. Sidechains and L2s are scheduled
with the Ethereum rule set they implement (what plain `anvil --hardfork` can run); OP-stack chains
also carry their OP-stack schedule for anvil's `--optimism` mode (`op_hardfork_for_block`).

Known approximations, where anvil has no exact rule set:
- BSC and Polygon never ran the Merge: their DIFFICULTY opcode still returns the header difficulty,
  while anvil's post-Paris rule sets read PREVRANDAO. Their chain-specific precompiles and system
  contracts are not modelled either.
- Arbitrum: Nitro returns 1 for DIFFICULTY/PREVRANDAO and keeps ArbOS data in mixHash; pre-Nitro
  blocks (< 22207817) ran on the classic AVM and cannot be replayed faithfully.
- OP Mainnet blocks before Bedrock (< 105235063) ran on the legacy OVM (l2geth).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import rlp
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from timemachine.chain.hardforks import (
    ByBlock,
    ByTimestamp,
    Schedule,
    arbos_version_from_header,
    hardfork_at,
    hardfork_for_arbos_version,
    infer_hardfork_from_header,
    schedule,
)
from timemachine.errors import InvalidInputError
from timemachine.hexutil import quantity
from timemachine.models.bounds import INT64_MAX

if TYPE_CHECKING:
    from timemachine.settings import Settings

DEVNET_CHAIN_ID = 31337
DEVNET_DEPLOYER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
"""The devnet's `deployer` actor: account 0 of the devnet mnemonic (`catalog.devnet`)."""


def create_address(sender: str, nonce: int) -> str:
    """The address a CREATE from `sender` at `nonce` deploys to (checksummed)."""
    return to_checksum_address(keccak(rlp.encode([bytes.fromhex(sender[2:]), nonce]))[12:])


DEVNET_WRAPPED_NATIVE = create_address(DEVNET_DEPLOYER, 1)
"""The devnet world's WrappedEther: the deployer's second contract, deployed in block 1 right
after DemoToken (`catalog.scenarios.world`)."""
DEVNET_PAIR_FACTORY = create_address(DEVNET_DEPLOYER, 17)
"""The devnet markets' PairFactory (`catalog.scenarios.markets`): the deployer's 18th contract;
scenarios are only ever appended, so it never moves (a test checks it against the history)."""


@dataclass(frozen=True, slots=True)
class ChainInfo:
    """What Time Machine knows about one chain id."""

    chain_id: int
    name: str
    aliases: tuple[str, ...] = ()
    native_symbol: str = "ETH"
    rpc_env: str | None = None
    """Settings attribute holding this chain's default RPC URL (e.g. "web3_rpc_url"), if any."""
    rpc_urls_env: str | None = None
    """Settings attribute holding this chain's provider list (e.g. "ethereum_rpc_urls")."""
    confirmations: int = 64
    """Blocks below the head after which data counts as final when the node reports no
    `finalized` block (the reorg tracker keeps and checks only the blocks above)."""
    wrapped_native: str | None = None
    """Checksummed address of the canonical wrapped native token (WETH, WBNB, WPOL)."""
    v2_factories: tuple[str, ...] = ()
    """Uniswap V2-style factories (`getPair`) whose pairs price tokens against `wrapped_native`
    when the transaction itself touched no pair of the token."""
    schedule: Schedule | None = None
    """Ethereum-named hardfork schedule; None means: infer the fork from each block header."""
    op_schedule: Schedule | None = None
    """OP-stack-named schedule (OP-stack chains only), for anvil started with `--optimism`."""
    is_optimism: bool = False
    is_arbitrum: bool = False
    """Arbitrum Nitro: the fork follows the ArbOS version recorded in each block header."""
    block_explorer: str | None = None
    block_time: int = 12
    """Typical whole seconds between blocks today (to date a hypothetical next block)."""
    known: bool = True
    """False for a chain id outside the registry (an "unknown EVM" placeholder)."""


# --- Schedules -------------------------------------------------------------------------------

# Ethereum mainnet. Block numbers and timestamps: go-ethereum params/config.go, MainnetChainConfig
# (OsakaTime/BPO1Time/BPO2Time included; the same Osaka value is in ethereum/execution-specs
# src/ethereum/forks/osaka/__init__.py). Paris: first proof-of-stake block, ethereum/execution-specs
# src/ethereum/paris/__init__.py FORK_CRITERIA = ByBlockNumber(15537394).
MAINNET_SCHEDULE = schedule(
    ("frontier", ByBlock(0)),
    ("homestead", ByBlock(1_150_000)),
    ("dao", ByBlock(1_920_000)),
    ("tangerine", ByBlock(2_463_000)),  # EIP150Block
    ("spuriousdragon", ByBlock(2_675_000)),  # EIP155Block / EIP158Block
    ("byzantium", ByBlock(4_370_000)),
    ("constantinople", ByBlock(7_280_000)),
    ("petersburg", ByBlock(7_280_000)),
    ("istanbul", ByBlock(9_069_000)),
    ("muirglacier", ByBlock(9_200_000)),
    ("berlin", ByBlock(12_244_000)),
    ("london", ByBlock(12_965_000)),
    ("arrowglacier", ByBlock(13_773_000)),
    ("grayglacier", ByBlock(15_050_000)),
    ("paris", ByBlock(15_537_394)),
    ("shanghai", ByTimestamp(1_681_338_455)),
    ("cancun", ByTimestamp(1_710_338_135)),
    ("prague", ByTimestamp(1_746_612_311)),
    ("osaka", ByTimestamp(1_764_798_551)),
    ("bpo1", ByTimestamp(1_765_290_071)),
    ("bpo2", ByTimestamp(1_767_747_671)),
)

# Sepolia: go-ethereum params/config.go, SepoliaChainConfig (every fork through London at genesis;
# timestamps from ShanghaiTime to BPO2Time). Paris (first PoS block 1450409, terminal total
# difficulty 17e15): NomicFoundation/hardhat default-config.js hardforkHistory for 11155111.
SEPOLIA_SCHEDULE = schedule(
    ("london", ByBlock(0)),
    ("paris", ByBlock(1_450_409)),
    ("shanghai", ByTimestamp(1_677_557_088)),
    ("cancun", ByTimestamp(1_706_655_072)),
    ("prague", ByTimestamp(1_741_159_776)),
    ("osaka", ByTimestamp(1_760_427_360)),
    ("bpo1", ByTimestamp(1_761_017_184)),
    ("bpo2", ByTimestamp(1_761_607_008)),
)

# BNB Smart Chain: bnb-chain/bsc v1.5.17 params/config.go, BSCChainConfig. Istanbul and earlier at
# genesis; Berlin = London = Hertz at block 31302048; Shanghai = Kepler, Cancun = Haber,
# Prague = Pascal by timestamp. Later BSC forks (Lorentz, Maxwell, Fermi) change no EVM rule set
# anvil models; a BSC Osaka activation was not found in any source, so none is scheduled.
BSC_SCHEDULE = schedule(
    ("istanbul", ByBlock(0)),
    ("berlin", ByBlock(31_302_048)),
    ("london", ByBlock(31_302_048)),
    ("shanghai", ByTimestamp(1_705_996_800)),  # Kepler, 2024-01-23 08:00:00 UTC
    ("cancun", ByTimestamp(1_718_863_500)),  # Haber, 2024-06-20 06:05:00 UTC
    ("prague", ByTimestamp(1_742_436_600)),  # Pascal, 2025-03-20 02:10:00 UTC
)

# Polygon PoS: 0xPolygon/bor internal/cli/server/chains/mainnet.go (mainnetBor genesis config).
# Bor schedules every fork by block. Shanghai 50523000, Cancun 54876000 (Napoli), Prague 73440256
# (Bhilai). bor sets no OsakaBlock for mainnet; what Madhugiri (80084800) changes in the EVM was not
# verified, so nothing newer than Prague is scheduled.
POLYGON_SCHEDULE = schedule(
    ("petersburg", ByBlock(0)),
    ("istanbul", ByBlock(3_395_000)),  # = MuirGlacierBlock
    ("berlin", ByBlock(14_750_000)),
    ("london", ByBlock(23_850_000)),  # = Jaipur
    ("shanghai", ByBlock(50_523_000)),
    ("cancun", ByBlock(54_876_000)),
    ("prague", ByBlock(73_440_256)),
)

# Arbitrum One, used only when a header does not carry a Nitro ArbOS version (see
# hardfork_for_block). London from the Nitro genesis (OffchainLabs/go-ethereum
# params/config_arbitrum.go); ArbOS 11 (Shanghai) and ArbOS 20 (Cancun) blocks and the ArbOS 40
# (Prague) timestamp: alloy-rs/hardforks crates/hardforks/src/arbitrum/mainnet.rs.
ARBITRUM_SCHEDULE = schedule(
    ("london", ByBlock(0)),
    ("shanghai", ByBlock(184_097_479)),
    ("cancun", ByBlock(190_301_729)),
    ("prague", ByTimestamp(1_750_176_000)),
)

# OP Mainnet. Bedrock block: ethereum-optimism/superchain-registry
# superchain/configs/mainnet/op.toml (genesis.l2.number); Canyon..Holocene: same file,
# [hardforks]. Isthmus 1746806401 and Jovian 1764691201: the superchain-wide mainnet activations
# as quoted from superchain-registry by several op-reth/EDR chain configs (the registry file
# versions read here predate them).
# Legacy OVM Berlin block 3950000: alloy-rs/hardforks crates/op-hardforks/src/optimism/mainnet.rs.
# Ethereum equivalents: foundry-rs/foundry crates/evm/hardforks/src/lib.rs.
OP_MAINNET_BEDROCK_BLOCK = 105_235_063
OP_CANYON = ByTimestamp(1_704_992_401)
OP_ECOTONE = ByTimestamp(1_710_374_401)
OP_FJORD = ByTimestamp(1_720_627_201)
OP_GRANITE = ByTimestamp(1_726_070_401)
OP_HOLOCENE = ByTimestamp(1_736_445_601)
OP_ISTHMUS = ByTimestamp(1_746_806_401)
OP_JOVIAN = ByTimestamp(1_764_691_201)

OPTIMISM_SCHEDULE = schedule(
    ("istanbul", ByBlock(0)),  # legacy OVM; not replayable faithfully
    ("berlin", ByBlock(3_950_000)),  # legacy OVM
    ("paris", ByBlock(OP_MAINNET_BEDROCK_BLOCK)),  # Bedrock: London..Paris rules
    ("shanghai", OP_CANYON),
    ("cancun", OP_ECOTONE),
    ("prague", OP_ISTHMUS),
)
OPTIMISM_OP_SCHEDULE = schedule(
    ("bedrock", ByBlock(0)),  # pre-Bedrock legacy blocks get the oldest OP-stack rule set
    ("regolith", ByBlock(OP_MAINNET_BEDROCK_BLOCK)),  # regolith_time = 0: from the first block
    ("canyon", OP_CANYON),
    ("ecotone", OP_ECOTONE),
    ("fjord", OP_FJORD),
    ("granite", OP_GRANITE),
    ("holocene", OP_HOLOCENE),
    ("isthmus", OP_ISTHMUS),
    ("jovian", OP_JOVIAN),
)

# Base: ethereum-optimism/superchain-registry superchain/configs/mainnet/base.toml (Bedrock genesis
# at L2 block 0; Canyon..Holocene identical to OP Mainnet); Isthmus and Jovian as for OP Mainnet.
BASE_SCHEDULE = schedule(
    ("paris", ByBlock(0)),
    ("shanghai", OP_CANYON),
    ("cancun", OP_ECOTONE),
    ("prague", OP_ISTHMUS),
)
BASE_OP_SCHEDULE = schedule(
    ("bedrock", ByBlock(0)),
    ("regolith", ByTimestamp(0)),
    ("canyon", OP_CANYON),
    ("ecotone", OP_ECOTONE),
    ("fjord", OP_FJORD),
    ("granite", OP_GRANITE),
    ("holocene", OP_HOLOCENE),
    ("isthmus", OP_ISTHMUS),
    ("jovian", OP_JOVIAN),
)

# --- Chains ----------------------------------------------------------------------------------

_OP_WETH = "0x4200000000000000000000000000000000000006"  # OP-stack predeploy

CHAINS: Mapping[int, ChainInfo] = {
    chain.chain_id: chain
    for chain in (
        ChainInfo(
            chain_id=1,
            name="ethereum",
            aliases=("mainnet", "eth", "ethereum-mainnet"),
            rpc_env="web3_rpc_url",
            rpc_urls_env="ethereum_rpc_urls",
            wrapped_native="0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
            v2_factories=(
                "0x5C69bEe701ef814a2B6a3EDD4B1652CB9cc5aA6f",  # Uniswap V2
                "0xC0AEe478e3658e2610c5F7A4A2E1777cE9e4f2Ac",  # SushiSwap
            ),
            schedule=MAINNET_SCHEDULE,
            block_explorer="https://etherscan.io",
        ),
        ChainInfo(
            chain_id=11_155_111,
            name="sepolia",
            aliases=("ethereum-sepolia", "eth-sepolia"),
            wrapped_native="0xfFf9976782d46CC05630D1f6eBAb18b2324d6B14",
            schedule=SEPOLIA_SCHEDULE,
            block_explorer="https://sepolia.etherscan.io",
        ),
        ChainInfo(
            chain_id=56,
            name="bsc",
            aliases=("bnb", "binance", "bnb-chain", "bnb-smart-chain", "binance-smart-chain"),
            native_symbol="BNB",
            rpc_env="bsc_rpc_url",
            rpc_urls_env="bsc_rpc_urls",
            confirmations=15,
            wrapped_native="0xbb4CdB9CBd36B01bD1cBaEBF2De08d9173bc095c",
            v2_factories=("0xcA143Ce32Fe78f1f7019d7d551a6402fC5350c73",),  # PancakeSwap V2
            schedule=BSC_SCHEDULE,
            block_explorer="https://bscscan.com",
            block_time=1,
        ),
        ChainInfo(
            chain_id=137,
            name="polygon",
            aliases=("matic", "pol", "polygon-pos", "polygon-mainnet"),
            native_symbol="POL",  # renamed from MATIC in 2024; same wrapped token contract
            rpc_env="polygon_rpc_url",
            rpc_urls_env="polygon_rpc_urls",
            confirmations=128,
            wrapped_native="0x0d500B1d8E8eF31E21C99d1Db9A6444d3ADf1270",
            v2_factories=("0x5757371414417b8C6CAad45bAeF941aBc7d3Ab32",),  # QuickSwap
            schedule=POLYGON_SCHEDULE,
            block_explorer="https://polygonscan.com",
            block_time=2,
        ),
        ChainInfo(
            chain_id=42_161,
            name="arbitrum",
            rpc_urls_env="arbitrum_rpc_urls",
            confirmations=20,
            aliases=("arbitrum-one", "arb", "arb1", "arbitrum-mainnet"),
            wrapped_native="0x82aF49447D8a07e3bd95BD0d56f35241523fBab1",
            schedule=ARBITRUM_SCHEDULE,
            is_arbitrum=True,
            block_explorer="https://arbiscan.io",
            block_time=1,
        ),
        ChainInfo(
            chain_id=10,
            name="optimism",
            rpc_urls_env="optimism_rpc_urls",
            confirmations=20,
            aliases=("op", "op-mainnet", "optimism-mainnet"),
            wrapped_native=_OP_WETH,
            schedule=OPTIMISM_SCHEDULE,
            op_schedule=OPTIMISM_OP_SCHEDULE,
            is_optimism=True,
            block_explorer="https://optimistic.etherscan.io",
            block_time=2,
        ),
        ChainInfo(
            chain_id=8453,
            name="base",
            rpc_urls_env="base_rpc_urls",
            confirmations=20,
            aliases=("base-mainnet",),
            wrapped_native=_OP_WETH,
            schedule=BASE_SCHEDULE,
            op_schedule=BASE_OP_SCHEDULE,
            is_optimism=True,
            block_explorer="https://basescan.org",
            block_time=2,
        ),
        # The local anvil devnet: every fork from block 0, whichever `--hardfork` it was started
        # with, so its blocks are read by header inference (a lower bound; ask the devnet's
        # anvil_nodeInfo for the exact fork).
        ChainInfo(
            chain_id=DEVNET_CHAIN_ID,
            name="devnet",
            aliases=("anvil", "local", "localhost"),
            wrapped_native=DEVNET_WRAPPED_NATIVE,
            v2_factories=(DEVNET_PAIR_FACTORY,),
            block_time=1,
        ),
    )
}

_BY_NAME: Mapping[str, ChainInfo] = {
    key: chain for chain in CHAINS.values() for key in (chain.name, *chain.aliases)
}
_UNKNOWN_NAME = re.compile(r"^evm-(\d+)$")


def known_chains() -> tuple[ChainInfo, ...]:
    """Every chain in the registry, in registry order."""
    return tuple(CHAINS.values())


def get_chain(chain_id: int) -> ChainInfo:
    """The chain with this id; an "unknown EVM" entry (header inference, no defaults) otherwise."""
    known = CHAINS.get(chain_id)
    if known is not None:
        return known
    return ChainInfo(chain_id=chain_id, name=f"evm-{chain_id}", native_symbol="NATIVE", known=False)


def configured_rpc_url(chain_id: int, settings: Settings) -> str | None:
    """The default RPC the settings give `chain_id`, or None: its provider list
    (ETHEREUM_RPC_URLS, BSC_RPC_URLS, …) then its single-URL name (WEB3_RPC_URL, BSC_RPC_URL,
    POLYGON_RPC_URL; a list there too), joined with commas, duplicates dropped."""
    chain = get_chain(chain_id)
    items: list[str] = []
    for attribute in (chain.rpc_urls_env, chain.rpc_env):
        value = getattr(settings, attribute) if attribute else None
        for item in str(value or "").split(","):
            if item.strip() and item.strip() not in items:
                items.append(item.strip())
    return ",".join(items) or None


def find_chain(name_or_id: str) -> ChainInfo:
    """Resolve a user-given chain name, alias or numeric id (decimal or 0x hex), case-insensitively.

    Raises InvalidInputError for a name that is neither known nor a chain id.
    """
    key = re.sub(r"[\s_]+", "-", str(name_or_id).strip().lower())
    chain = _BY_NAME.get(key)
    if chain is not None:
        return chain
    match = _UNKNOWN_NAME.match(key)
    try:
        number = int(match.group(1)) if match else quantity(key)
    except ValueError:  # thousands of digits: no chain id
        number = None
    if number is not None and 0 < number <= INT64_MAX:  # what every store of a chain id holds
        return get_chain(number)
    known = ", ".join(f"{c.name} ({c.chain_id})" for c in CHAINS.values())
    raise InvalidInputError(
        f"unknown chain {name_or_id!r}; known chains: {known}; or pass a numeric chain id"
    )


def hardfork_for_block(chain: ChainInfo, block: Mapping[str, Any]) -> str:
    """The anvil hardfork name (Ethereum rule set) a block of `chain` ran under.

    `block` is the raw JSON-RPC block object (hex `number`, `timestamp` and header fields). Arbitrum
    blocks use the ArbOS version in their header when present; chains with a schedule use it;
    others get `infer_hardfork_from_header`, a lower bound.
    """
    if chain.is_arbitrum:
        version = arbos_version_from_header(block)
        if version is not None:
            return hardfork_for_arbos_version(version)
    if chain.schedule is None:
        return infer_hardfork_from_header(block)
    number, timestamp = _number_and_time(block)
    return hardfork_at(chain.schedule, number, timestamp)


def op_hardfork_for_block(chain: ChainInfo, block: Mapping[str, Any]) -> str | None:
    """The OP-stack hardfork name for anvil's `--optimism` mode, or None for non-OP-stack chains."""
    if chain.op_schedule is None:
        return None
    number, timestamp = _number_and_time(block)
    return hardfork_at(chain.op_schedule, number, timestamp)


def _number_and_time(block: Mapping[str, Any]) -> tuple[int, int]:
    number = quantity(block.get("number"))
    timestamp = quantity(block.get("timestamp"))
    if number is None or timestamp is None:
        raise InvalidInputError(
            "the block has no number or timestamp (a pending block?); pass a mined block"
        )
    return number, timestamp
