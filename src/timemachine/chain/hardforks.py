"""EVM hardfork names as anvil spells them, fork schedules, and what a block header proves.

A replay must run under the rule set that was active at its block. Chains with a known history carry
a `Schedule` (see `timemachine.chain.registry`); for any other chain `infer_hardfork_from_header`
gives a lower bound from the fields the raw JSON-RPC block header carries.

Names are the ones `anvil --hardfork` accepts (anvil 1.7.1, checked by starting it with each
name and reading `anvil_nodeInfo.hardFork`; parsing is case-insensitive, no separators). The
mapping to revm rule sets is foundry-rs/foundry crates/evm/hardforks/src/lib.rs
(`spec_id_from_ethereum_hardfork`): dao runs Homestead rules, constantinople runs Petersburg
rules, muirglacier runs Istanbul rules, arrowglacier/grayglacier run London rules, bpo1/bpo2 run
Osaka rules with their blob parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from timemachine.hexutil import quantity

ETHEREUM_HARDFORKS: tuple[str, ...] = (
    "frontier",
    "homestead",
    "dao",
    "tangerine",
    "spuriousdragon",
    "byzantium",
    "constantinople",
    "petersburg",
    "istanbul",
    "muirglacier",
    "berlin",
    "london",
    "arrowglacier",
    "grayglacier",
    "paris",
    "shanghai",
    "cancun",
    "prague",
    "osaka",
    "bpo1",
    "bpo2",
)
"""Ethereum hardforks anvil 1.7.1 accepts, oldest first. Not accepted: "merge" (use "paris"),
"tangerinewhistle", "graygrimoire", separators such as "spurious-dragon"; "bpo3".."bpo5" and
"amsterdam" parse but make anvil 1.7.1 panic at startup ("unimplemented")."""

OPTIMISM_HARDFORKS: tuple[str, ...] = (
    "bedrock",
    "regolith",
    "canyon",
    "ecotone",
    "fjord",
    "granite",
    "holocene",
    "isthmus",
    "jovian",
    "interop",
)
"""OP-stack hardforks anvil 1.7.1 accepts, only together with `--optimism` (which in turn rejects
the Ethereum names). "delta" (no EVM change) is not accepted; "karst" parses but panics."""

OP_TO_ETHEREUM: Mapping[str, str] = {
    # foundry-rs/foundry crates/evm/hardforks/src/lib.rs, eth_spec_id_from_optimism_hardfork.
    "bedrock": "paris",
    "regolith": "paris",
    "canyon": "shanghai",
    "ecotone": "cancun",
    "fjord": "cancun",
    "granite": "cancun",
    "holocene": "cancun",
    "isthmus": "prague",
    "jovian": "prague",
}
"""The Ethereum rule set each OP-stack fork builds on. OP-only changes (deposit transactions, the
L1 fee, the P256VERIFY precompile from Fjord) need anvil's `--optimism` mode and the OP name."""

_ETHEREUM_RANK = {name: rank for rank, name in enumerate(ETHEREUM_HARDFORKS)}

# Arbitrum Nitro gates Ethereum forks on the ArbOS version, not on blocks or timestamps:
# OffchainLabs/go-ethereum params/config.go, IsShanghai/IsCancun/IsPrague/IsOsaka
# (currentArbosVersion >= ArbosVersion_11 / _20 / _40 / _50). Newest first.
ARBOS_HARDFORKS: tuple[tuple[int, str], ...] = (
    (50, "osaka"),
    (40, "prague"),
    (20, "cancun"),
    (11, "shanghai"),
)
ARBOS_BASE_HARDFORK = "london"
"""Nitro chains start at London (OffchainLabs/go-ethereum params/config.go, IsLondon is true from
the Nitro genesis block on an Arbitrum chain)."""

DEFAULT_INFERRED_HARDFORK = "berlin"
"""What `infer_hardfork_from_header` answers when the header proves nothing newer."""


@dataclass(frozen=True, slots=True)
class ByBlock:
    """A fork that activates at a block number (every Ethereum fork up to and including Paris)."""

    number: int

    def active(self, block_number: int, timestamp: int) -> bool:
        return block_number >= self.number


@dataclass(frozen=True, slots=True)
class ByTimestamp:
    """A fork that activates at a block timestamp in Unix seconds (Ethereum forks after Paris)."""

    seconds: int

    def active(self, block_number: int, timestamp: int) -> bool:
        return timestamp >= self.seconds


Activation = ByBlock | ByTimestamp


@dataclass(frozen=True, slots=True)
class ScheduledFork:
    """One entry of a schedule: `name` (as anvil spells it) is active from `activation` on."""

    name: str
    activation: Activation


Schedule = tuple[ScheduledFork, ...]
"""Forks of one chain, oldest first; each fork includes the previous ones."""


def schedule(*entries: tuple[str, Activation]) -> Schedule:
    """Build a `Schedule` from (name, activation) pairs, checking names and order."""
    forks = tuple(ScheduledFork(name, activation) for name, activation in entries)
    if not forks:
        raise ValueError("a schedule needs at least one fork")
    seen_time = False
    last_block = last_time = -1
    for fork in forks:
        if fork.name not in _ETHEREUM_RANK and fork.name not in OPTIMISM_HARDFORKS:
            raise ValueError(f"{fork.name!r} is not a hardfork name anvil accepts")
        if isinstance(fork.activation, ByBlock):
            if seen_time or fork.activation.number < last_block:
                raise ValueError(f"{fork.name!r} is out of order in the schedule")
            last_block = fork.activation.number
        else:
            if fork.activation.seconds < last_time:
                raise ValueError(f"{fork.name!r} is out of order in the schedule")
            seen_time = True
            last_time = fork.activation.seconds
    return forks


def hardfork_at(forks: Schedule, block_number: int, timestamp: int) -> str:
    """The hardfork active at a block with this number and timestamp.

    Forks are cumulative, so the answer is the last fork of the run of active ones at the start of
    the schedule. A block before the first fork gets the first fork (schedules start at block 0).
    """
    current = forks[0].name
    for fork in forks:
        if not fork.activation.active(block_number, timestamp):
            break
        current = fork.name
    return current


def is_anvil_hardfork(name: str, *, optimism: bool = False) -> bool:
    """Whether `anvil --hardfork name` starts (with `--optimism` when `optimism` is true)."""
    names = OPTIMISM_HARDFORKS if optimism else ETHEREUM_HARDFORKS
    return name.strip().lower() in names


def ethereum_equivalent(name: str) -> str:
    """The Ethereum hardfork name for `name` (OP-stack names are mapped, Ethereum ones returned)."""
    key = name.strip().lower()
    if key in _ETHEREUM_RANK:
        return key
    try:
        return OP_TO_ETHEREUM[key]
    except KeyError:
        raise ValueError(f"no Ethereum hardfork known for {name!r}") from None


def is_at_least(name: str, minimum: str) -> bool:
    """Whether hardfork `name` includes every rule of `minimum` (OP names compare by their base)."""
    return _ETHEREUM_RANK[ethereum_equivalent(name)] >= _ETHEREUM_RANK[ethereum_equivalent(minimum)]


def hardfork_for_arbos_version(version: int) -> str:
    """The Ethereum rule set an Arbitrum Nitro block with this ArbOS version runs under."""
    for minimum, name in ARBOS_HARDFORKS:
        if version >= minimum:
            return name
    return ARBOS_BASE_HARDFORK


def arbos_version_from_header(block: Mapping[str, Any]) -> int | None:
    """The ArbOS version an Arbitrum Nitro header records, or None if it is not a Nitro header.

    Nitro stores it in mixHash bytes 16..24 (big-endian) and marks such headers with a non-zero
    base fee, 32 bytes of extraData (the send root) and difficulty 1: OffchainLabs/go-ethereum
    core/types/arb_types.go, DeserializeHeaderExtraInformation. The version is the one in force
    after the block; on the single block that upgrades ArbOS it is already the new one.
    """
    base_fee = quantity(block.get("baseFeePerGas"))
    extra = _hex_bytes(block.get("extraData"))
    mix = _hex_bytes(block.get("mixHash"))
    if not base_fee or quantity(block.get("difficulty")) != 1:
        return None
    if extra is None or len(extra) != 32 or mix is None or len(mix) != 32:
        return None
    return int.from_bytes(mix[16:24], "big")


def infer_hardfork_from_header(block: Mapping[str, Any]) -> str:
    """A lower bound on the hardfork a raw JSON-RPC block header proves (for unscheduled chains).

    Header fields only show forks that changed the header, so the answer is the newest fork the
    header *proves*; the chain may run a newer one (Osaka, for one, adds no header field):

    - requestsHash (EIP-7685) proves prague;
    - parentBeaconBlockRoot (EIP-4788) proves cancun;
    - withdrawalsRoot (EIP-4895) proves shanghai;
    - difficulty 0 with a non-zero mixHash (the PREVRANDAO value) and a base fee proves paris;
    - baseFeePerGas (EIP-1559) proves london;
    - otherwise `DEFAULT_INFERRED_HARDFORK` (berlin).

    blobGasUsed/excessBlobGas alone are not taken as proof of cancun, and a zero mixHash not as
    proof of paris: anvil reports both fields and difficulty 0 under every hardfork it runs, so
    trusting them would overstate the fork of an anvil devnet started with an older `--hardfork`.
    """
    if _present(block, "requestsHash"):
        return "prague"
    if _present(block, "parentBeaconBlockRoot"):
        return "cancun"
    if _present(block, "withdrawalsRoot"):
        return "shanghai"
    has_base_fee = _present(block, "baseFeePerGas")
    mix = _hex_bytes(block.get("mixHash"))
    has_randao = mix is not None and any(mix)
    if has_base_fee and quantity(block.get("difficulty")) == 0 and has_randao:
        return "paris"
    if has_base_fee:
        return "london"
    return DEFAULT_INFERRED_HARDFORK


def _hex_bytes(value: object) -> bytes | None:
    if not isinstance(value, str) or value[:2].lower() != "0x":
        return None
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        return None


def _present(block: Mapping[str, Any], key: str) -> bool:
    return block.get(key) is not None
