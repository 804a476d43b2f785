"""Chain-specific transactions and fee rules: what a replay models exactly, and what it cannot.

The engines run Ethereum's rules. L2s and sidechains add transactions the EVM alone does not
define and fees outside gas; each is either judged exactly (the rule is applied to the
comparison) or named precisely, never left to show up as an unexplained mismatch:

- OP stack (Optimism, Base): deposit transactions (type 0x7e; the first of every block is the
  L1-attributes deposit) mint ETH and run without an L2 fee: not modelled. The L1 data fee
  (receipt `l1Fee`) is charged outside gas: gas, status and logs are judged exactly, the
  sender's ETH change is said to differ by it.
- Arbitrum: the receipt's gasUsed includes the gas charged for L1 data (`gasUsedForL1`); the
  replay is judged on the L2 execution gas (gasUsed minus it). ArbOS transaction types
  0x64-0x6a and 0x78 (deposits, retryables, internal, legacy) are not modelled.
- BNB Chain: system transactions (the block's validator calling a system contract at gas price
  0, parlia's IsSystemTransaction) move block rewards by consensus rules: not modelled.
- Polygon PoS: state-sync transactions (type 0x7f, the last of a sprint's block, Heimdall
  events committed by the system) are not modelled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from timemachine.chain.blocks import parse_receipt, quantity
from timemachine.chain.registry import ChainInfo
from timemachine.errors import ReplayError
from timemachine.models import ReceiptSummary

BSC_CHAIN_IDS = frozenset({56, 97})
POLYGON_CHAIN_IDS = frozenset({137, 80002})
OP_DEPOSIT_TYPE = 0x7E
OP_L1_BLOCK = "0x4200000000000000000000000000000000000015"
POLYGON_STATE_SYNC_TYPE = 0x7F
# OffchainLabs/go-ethereum core/types/transaction.go: the ArbOS transaction types.
ARBITRUM_TYPES: Mapping[int, str] = {
    0x64: "an Arbitrum deposit (ETH bridged from L1, minted to the recipient)",
    0x65: "an Arbitrum unsigned transaction (an L1 user's call through the bridge)",
    0x66: "an Arbitrum contract transaction (an L1 contract's call through the bridge)",
    0x68: "an Arbitrum retryable redeem (retry transaction)",
    0x69: "an Arbitrum submit-retryable transaction (escrow and ticket creation)",
    0x6A: "an ArbOS internal transaction (L1 block info and ArbOS state at block start)",
    0x78: "an Arbitrum Classic legacy transaction",
}
# bnb-chain/bsc core/systemcontracts: the system contracts a validator's system txs call.
BSC_SYSTEM_CONTRACTS = frozenset(
    f"0x{number:040x}"
    for number in (
        *range(0x1000, 0x1009),  # validator set, slash, system reward, light client, token hub…
        *range(0x2000, 0x2007),  # cross chain, staking, stake hub, credit, governor, gov token…
        0x3000,  # token recover portal
    )
)


class ChainTxNotModelledError(ReplayError):
    """The transaction is one of its chain's own kinds the engine does not model."""


def not_modelled(chain: ChainInfo, tx: Mapping[str, Any], block: Mapping[str, Any]) -> str | None:
    """Why `tx` (of `block` on `chain`) cannot be replayed exactly, or None when it can."""
    kind = quantity(tx.get("type"))
    if chain.is_optimism and kind == OP_DEPOSIT_TYPE:
        target = str(tx.get("to") or "").lower()
        what = "the L1-attributes deposit" if target == OP_L1_BLOCK else "a deposit"
        return (
            f"{what} of the OP stack (type 0x7e): it mints {quantity(tx.get('mint'))} wei to "
            "its sender and runs without an L2 fee, which the engine does not model"
        )
    if chain.is_arbitrum and kind in ARBITRUM_TYPES:
        return f"{ARBITRUM_TYPES[kind]} (type {hex(kind)}), which the engine does not model"
    if chain.chain_id in POLYGON_CHAIN_IDS and kind == POLYGON_STATE_SYNC_TYPE:
        return (
            "a Polygon state-sync transaction (type 0x7f): Heimdall events the system commits "
            "to the state receiver, which the engine does not model"
        )
    if chain.chain_id in BSC_CHAIN_IDS and _bsc_system_tx(tx, block):
        return (
            f"a BNB Chain system transaction (the validator calling system contract "
            f"{tx.get('to')} at gas price 0): consensus moves block rewards with it, which the "
            "engine does not model"
        )
    return None


def refuse_unmodelled(chain: ChainInfo, tx: Mapping[str, Any], block: Mapping[str, Any]) -> None:
    """ChainTxNotModelledError saying precisely why, for a target the engine cannot replay."""
    reason = not_modelled(chain, tx, block)
    if reason is not None:
        raise ChainTxNotModelledError(
            f"transaction {tx.get('hash')} is {reason}; it is not replayed (replay an ordinary "
            "transaction of its block instead)"
        )


def unmodelled_notes(
    chain: ChainInfo, txs: Sequence[Mapping[str, Any]], block: Mapping[str, Any]
) -> list[str]:
    """A note for each earlier transaction of the block the engine could not run as it ran."""
    notes = []
    for position, tx in enumerate(txs):
        reason = not_modelled(chain, tx, block)
        if reason is not None:
            notes.append(
                f"earlier tx #{position} ({tx.get('hash')}) is {reason}; the state it wrote "
                "is the parent block's in this replay"
            )
    return notes


def judged_receipt(
    chain: ChainInfo, receipt: Mapping[str, Any]
) -> tuple[ReceiptSummary, list[str]]:
    """The original receipt as the replay is judged against it, with the chain's fee rules
    applied, and notes saying what was applied."""
    summary = parse_receipt(dict(receipt))
    notes: list[str] = []
    l1_gas = quantity(receipt.get("gasUsedForL1"))
    if chain.is_arbitrum and l1_gas:
        notes.append(
            f"Arbitrum: the original gasUsed {summary.gas_used:,} includes {l1_gas:,} gas "
            f"charged for L1 data (gasUsedForL1); the replay is judged on the L2 execution gas "
            f"{summary.gas_used - l1_gas:,}"
        )
        summary = summary.model_copy(update={"gas_used": summary.gas_used - l1_gas})
    l1_fee = quantity(receipt.get("l1Fee"))
    if chain.is_optimism and l1_fee:
        notes.append(
            f"OP stack: the original paid an L1 data fee of {l1_fee:,} wei (receipt l1Fee) "
            "outside gas, which the engine does not charge: the sender's ETH balance change "
            "differs by that much; gas, status and logs are unaffected"
        )
    return summary, notes


def _bsc_system_tx(tx: Mapping[str, Any], block: Mapping[str, Any]) -> bool:
    """parlia's IsSystemTransaction: to a system contract, from the block's validator, free."""
    return (
        str(tx.get("to") or "").lower() in BSC_SYSTEM_CONTRACTS
        and str(tx.get("from") or "").lower() == str(block.get("miner") or "").lower()
        and quantity(tx.get("gasPrice")) == 0
    )
