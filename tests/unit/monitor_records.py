"""Pending transactions and monitored records for the monitor's unit tests."""

from __future__ import annotations

from typing import Any

from timemachine.monitor.enrich import Enricher
from timemachine.monitor.ingest import normalize
from timemachine.monitor.models import MonitoredTx
from timemachine.trace.decoder import Decoder

SENDER = "0x" + "aa" * 20
TARGET = "0x" + "bb" * 20
GWEI = 10**9


def raw_tx(nonce: int = 0, **fields: Any) -> dict[str, Any]:
    """A JSON-RPC transaction object (EIP-1559) as a node shows it in its pool."""
    tx: dict[str, Any] = {
        "hash": "0x" + f"{nonce:02x}" * 32,
        "from": SENDER,
        "to": TARGET,
        "nonce": hex(nonce),
        "value": hex(10**18),
        "gas": hex(21_000),
        "maxFeePerGas": hex(30 * GWEI),
        "maxPriorityFeePerGas": hex(GWEI),
        "type": "0x2",
        "input": "0x",
    }
    tx.update(fields)
    return tx


def record(nonce: int = 0, seen: float = 100.0, **fields: Any) -> MonitoredTx:
    tx = normalize("test", raw_tx(nonce, **fields))
    enrichment = Enricher(Decoder(), watch=[]).enrich(tx)
    return MonitoredTx(tx=tx, first_seen={"p": seen}, enrichment=enrichment)
