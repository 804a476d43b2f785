"""Enrichment: decoded call, kind, token amounts, labels, watch list."""

from __future__ import annotations

import pytest

from tests.unit.monitor_records import SENDER, TARGET, raw_tx
from timemachine.monitor.enrich import Enricher
from timemachine.monitor.ingest import normalize
from timemachine.monitor.traffic import calldata
from timemachine.trace.decoder import Decoder

TOKEN_A = "0x" + "0a" * 20
TOKEN_B = "0x" + "0b" * 20


def enriched(data: bytes, *, value: int = 0, to: str | None = TARGET):  # type: ignore[no-untyped-def]
    tx = normalize("eth", raw_tx(1, input="0x" + data.hex(), value=hex(value), to=to))
    return Enricher(Decoder(), labels={TARGET: "Router"}, watch=[SENDER]).enrich(tx)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"", "transfer"),
        (calldata("transfer(address,uint256)", ["address", "uint256"], [TOKEN_A, 5]), "transfer"),
        (calldata("approve(address,uint256)", ["address", "uint256"], [TOKEN_A, 7]), "approve"),
        (
            calldata(
                "swapExactTokensForTokens(uint256,uint256,address[],address,uint256)",
                ["uint256", "uint256", "address[]", "address", "uint256"],
                [100, 90, [TOKEN_A, TOKEN_B], SENDER, 0],
            ),
            "swap",
        ),
        (
            calldata(
                "flashLoanSimple(address,address,uint256,bytes,uint16)",
                ["address", "address", "uint256", "bytes", "uint16"],
                [SENDER, TOKEN_A, 10**24, b"", 0],
            ),
            "flash_loan",
        ),
        (bytes.fromhex("deadbeef") + bytes(32), "other"),
    ],
)
def test_kind_from_the_decoded_call(data: bytes, kind: str) -> None:
    assert enriched(data).kind == kind


def test_contract_creation_and_unknown_selectors() -> None:
    creation = enriched(bytes.fromhex("6080604052"), to=None)
    assert (creation.kind, creation.call, creation.unknown_selector) == (
        "contract_creation",
        None,
        False,
    )
    unknown = enriched(bytes.fromhex("deadbeef") + bytes(32))
    assert unknown.unknown_selector
    assert unknown.selector == "0xdeadbeef"


def test_swap_amounts_along_the_path_and_the_address_book() -> None:
    data = calldata(
        "swapExactTokensForTokens(uint256,uint256,address[],address,uint256)",
        ["uint256", "uint256", "address[]", "address", "uint256"],
        [100, 90, [TOKEN_A, TOKEN_B], SENDER, 0],
    )
    enrichment = enriched(data)
    assert enrichment.call is not None
    assert enrichment.call.name == "swapExactTokensForTokens"
    amounts = [(a.token, a.amount, a.role) for a in enrichment.token_amounts]
    assert amounts == [(TOKEN_A, 100, "sent"), (TOKEN_B, 90, "min_received")]
    assert enrichment.labels == {TARGET: "Router"}
    assert enrichment.watched == [SENDER]


def test_erc20_transfer_and_eth_value_amounts() -> None:
    data = calldata("transfer(address,uint256)", ["address", "uint256"], [TOKEN_A, 5])
    amounts = [(a.token, a.amount, a.role) for a in enriched(data, value=3).token_amounts]
    assert amounts == [("ETH", 3, "sent"), (TARGET, 5, "sent")]
