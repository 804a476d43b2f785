"""The naming service: bundled well-known names, what the replay read, the user's labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_utils.address import is_checksum_address

from timemachine.analysis.evidence import amount_text, naming_scope
from timemachine.cli.inputs import load_label_file, user_labels
from timemachine.errors import InvalidInputError
from timemachine.models import BalanceChange
from timemachine.trace.naming import Naming, _known_document, group_digits, known_entries

USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
TOKEN = "0x959922bE3CAee4b8Cd9a407cc3ac1C251C2007B1"
ACTOR = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def test_every_bundled_address_is_checksummed_and_every_token_has_decimals() -> None:
    chains = {key: value for key, value in _known_document().items() if not key.startswith("_")}
    assert set(chains) == {"1", "10", "56", "137", "8453", "42161"}
    for entries in chains.values():
        for address, entry in entries.items():
            assert is_checksum_address(address), address
            assert entry["name"]
            assert ("symbol" in entry) == ("decimals" in entry), address
    assert known_entries(1)[USDC] == {"name": "USDC", "symbol": "USDC", "decimals": 6}
    assert known_entries(31337) == {}


def test_amounts_carry_digit_groups_and_symbols() -> None:
    naming = Naming.for_chain(1)
    assert naming.amount("ETH", 1_500_000_000_000_000_000) == "1.5 ETH"
    assert naming.amount(USDC.lower(), 35_000 * 10**6) == "35,000 USDC"
    assert naming.amount(USDC, -1_234_567_891) == "-1,234.567891 USDC"
    assert naming.amount(TOKEN, 7) == f"7 base units of token {TOKEN}"
    naming.add_token(TOKEN, "USDX", None)
    assert naming.amount(TOKEN, 7_000) == "7,000 USDX (decimals unknown)"
    assert group_digits("-1234567.0105") == "-1,234,567.0105"


def test_what_the_replay_read_wins_over_the_list_and_user_labels_win_over_both() -> None:
    change = BalanceChange(address=ACTOR, asset=USDC, symbol="USDC.x", decimals=6, delta=1)
    naming = Naming.of(1, balance_changes=[change], labels={USDC: "Circle USD", ACTOR: "alice"})
    assert naming.symbol(USDC) == "USDC.x"
    assert naming.address(USDC) == f"Circle USD ({USDC})"
    assert naming.short(ACTOR.lower()) == "alice"
    assert naming.address(TOKEN) == TOKEN


def test_findings_written_in_a_naming_scope_use_its_symbols() -> None:
    naming = Naming()
    naming.add_token(TOKEN, "USDX", 6)
    assert amount_text(TOKEN, 35_000 * 10**6) == f"35000000000 base units of token {TOKEN}"
    with naming_scope(naming):
        assert amount_text(TOKEN, 35_000 * 10**6) == "35,000 USDX"
        assert amount_text("ETH", 10**18) == "1 ETH"


def test_label_files_take_a_plain_map_or_a_devnet_manifest(tmp_path: Path) -> None:
    plain = tmp_path / "labels.json"
    plain.write_text(json.dumps({ACTOR.lower(): "alice"}))
    manifest = tmp_path / "devnet.json"
    manifest.write_text(json.dumps({"rpc_url": "http://x", "labels": {TOKEN: "MarketToken"}}))
    assert load_label_file(plain) == {ACTOR: "alice"}
    assert user_labels([f"{ACTOR}=bob"], [plain, manifest]) == {ACTOR: "bob", TOKEN: "MarketToken"}
    broken = tmp_path / "broken.json"
    broken.write_text('{"labels": ["not", "a", "map"]}')
    with pytest.raises(InvalidInputError, match="holds no labels"):
        load_label_file(broken)
    with pytest.raises(InvalidInputError, match="cannot read label file"):
        load_label_file(tmp_path / "missing.json")
