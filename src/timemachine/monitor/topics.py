"""The event bus topics the monitor publishes on (one JSON object per event, with a `type`)."""

from __future__ import annotations

TX_RAW = "tx_raw"
"""`tx_pending`: a transaction seen for the first time, normalized."""
TX_ENRICHED = "tx_enriched"
"""`tx_enriched` and every later state change of a monitored transaction: `tx_included`,
`tx_replaced`, `tx_dropped`, `tx_reorged`."""
TX_SIMULATED = "tx_simulated"
"""`tx_simulated`: the outcome of replaying a pending transaction on a fork of the head."""
BLOCKS = "blocks"
"""`block`: a new canonical head and what the monitor saw included in it."""
REORGS = "reorgs"
"""`chain_reorged`: the reorganization, with the transactions it took out."""
MEV_BUNDLES = "mev_bundles"
"""`mev_bundle`: sandwiches and arbitrages found in an included block."""
ALERTS = "alerts"
"""`alert`: a pending transaction whose simulation has a high or critical finding, or that
touches a watched address."""

TOPICS = (TX_RAW, TX_ENRICHED, TX_SIMULATED, BLOCKS, REORGS, MEV_BUNDLES, ALERTS)
