"""Ingestion: normalization, de-duplication across providers, malformed input counted."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.monitor_records import SENDER, TARGET, raw_tx
from timemachine.monitor.ingest import Ingestor, MalformedTxError, normalize


def test_normalize_reads_every_field() -> None:
    tx = normalize("eth", raw_tx(7, input="0xA9059CBB", to=TARGET.upper().replace("0X", "0x")))
    assert (tx.chain, tx.sender, tx.to, tx.nonce) == ("eth", SENDER, TARGET, 7)
    assert (tx.value, tx.gas, tx.type) == (10**18, 21_000, 2)
    assert (tx.max_fee_per_gas, tx.max_priority_fee_per_gas, tx.gas_price) == (
        30 * 10**9,
        10**9,
        None,
    )
    assert tx.input == "0xa9059cbb"
    assert tx.selector == "0xa9059cbb"
    assert normalize("eth", raw_tx(1, to=None)).to is None


@pytest.mark.parametrize(
    "broken",
    [
        "not a tx",
        ["list"],
        raw_tx(hash="0x12"),
        {**raw_tx(), "from": "0xnothex"},
        raw_tx(to="0x" + "bb" * 19),
        {**raw_tx(), "nonce": "0xZZ"},
        {**raw_tx(), "value": "-1"},
        raw_tx(input="0xabc"),
        {k: v for k, v in raw_tx().items() if k != "nonce"},
    ],
)
def test_malformed_transactions_are_refused(broken: Any) -> None:
    with pytest.raises(MalformedTxError):
        normalize("eth", broken)


def test_ingestor_deduplicates_and_counts_per_provider() -> None:
    ingestor = Ingestor("eth")
    tx, repeat = ingestor.accept("a", raw_tx(1), 10.0)
    assert tx is not None
    assert repeat is None
    assert ingestor.accept("b", raw_tx(1), 11.0) == (None, tx.hash)
    assert ingestor.accept("a", raw_tx(1), 12.0) == (None, tx.hash)
    assert ingestor.sightings(tx.hash) == {"a": 10.0, "b": 11.0}
    assert ingestor.accept("b", {"garbage": True}, 13.0) == (None, None)
    assert ingestor.accept("b", "0x" + "11" * 32, 14.0) == (None, None)
    a, b = ingestor.providers["a"], ingestor.providers["b"]
    assert (a.delivered, a.first, a.malformed) == (2, 1, 0)
    assert (b.delivered, b.first, b.malformed, b.unresolved) == (3, 0, 1, 1)
    assert ingestor.malformed == 1


def test_ingestor_forgets_the_oldest_hashes_beyond_its_limit() -> None:
    ingestor = Ingestor("eth", limit=2)
    for nonce in range(3):
        ingestor.accept("a", raw_tx(nonce), float(nonce))
    assert list(ingestor.first_seen) == [raw_tx(1)["hash"], raw_tx(2)["hash"]]
