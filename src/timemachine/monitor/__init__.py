"""The mempool monitor: ingest pending transactions from the live streams of a chain, enrich
them, follow each through its lifecycle (pending → included / replaced / dropped, reorged out and
re-included), simulate the interesting ones on a warm fork of the head before they are mined, and
publish everything on the event bus (`bus.topics`).

    ingest ─► enrich ─► lifecycle ─► store
                 └────► simulate (filter, backlog, warm forks) ─► analysis, mev
"""
