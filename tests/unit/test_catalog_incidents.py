"""Loading the exploit catalog: the real CSV (from ../shared), malformed rows, filters."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import IN_CI
from timemachine.catalog.incidents import (
    CSV_COLUMNS,
    bundled_records,
    chain_id_for,
    default_csv_path,
    load_catalog,
    read_incidents,
    slug,
    summarize,
)
from timemachine.catalog.scenarios import SCENARIOS
from timemachine.catalog.severity import Severity
from timemachine.errors import InvalidInputError, NotFoundError
from timemachine.models.taxonomy import VulnerabilityClass

BUNDLED = [scenario.id for scenario in SCENARIOS]

HEADER = ",".join(CSV_COLUMNS)
BEC = (
    "2018-04-22,Beauty Chain,Integer Overflow,$900 million,USD,Ethereum,"
    "0xAD89FF16FD1EBE3A0A7CF4ED282302C06626C1AF33221EBE0D3A470ABA4A660F,5483642,"
    "src/test/2018-04/BEC_exp.sol"
)


@pytest.fixture(scope="module")
def real_csv() -> Path:
    path = default_csv_path()
    if not path.is_file():
        message = f"{path} not found (the DeFiHackLabs incident CSV lives in ../shared/data)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def write(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "incidents.csv"
    path.write_text("\n".join((HEADER, *rows)) + "\n", encoding="utf-8")
    return path


def test_real_csv_counts(real_csv: Path) -> None:
    catalog = load_catalog(real_csv)
    incidents = [r for r in catalog.records if r.source == "defihacklabs"]
    assert (len(catalog.records), len(incidents), catalog.skipped_rows) == (
        956 + len(BUNDLED),
        956,
        0,
    )
    assert catalog.warnings == ()
    assert len({r.id for r in catalog.records}) == 956 + len(BUNDLED)
    assert summarize(incidents) == {
        "vulnerability_class": {
            "reentrancy": 59,
            "flash_loan": 14,
            "price_manipulation": 163,
            "access_control": 133,
            "integer_overflow": 16,
            "signature_replay": 14,
            "share_inflation": 18,
            "arbitrary_call": 41,
            "governance_takeover": 11,
            "logic_flaw": 275,
            "precision_loss": 20,
            "input_validation": 74,
            "front_running": 21,
            "weak_randomness": 5,
            "private_key_compromise": 27,
            "rug_pull": 7,
            "other": 58,
        },
        "severity": {"critical": 61, "high": 112, "medium": 167, "low": 241, "unknown": 375},
    }
    with_usd = sum(r.loss_usd is not None for r in incidents)
    unparsed = sum(r.loss_text is not None and r.loss_usd is None for r in incidents)
    assert (with_usd, unparsed, sum(r.loss_text is None for r in incidents)) == (581, 348, 27)
    assert sum(r.chain_id is None for r in incidents) == 53
    assert not any(r.replayable_offline for r in incidents)


def test_real_csv_beauty_chain(real_csv: Path) -> None:
    record = load_catalog(real_csv).get("2018-04-22-beauty-chain")
    assert record.model_dump(mode="json") == {
        "id": "2018-04-22-beauty-chain",
        "date": "2018-04-22",
        "name": "Beauty Chain",
        "source": "defihacklabs",
        "vulnerability_class": "integer_overflow",
        "vulnerability_text": "Integer Overflow",
        "loss_text": "$900 million",
        "loss_usd": 900_000_000.0,
        "severity": "critical",
        "chain": "Ethereum",
        "chain_id": 1,
        "attack_txs": ["0xad89ff16fd1ebe3a0a7cf4ed282302c06626c1af33221ebe0d3a470aba4a660f"],
        "fork_block": 5483642,
        "poc_path": "src/test/2018-04/BEC_exp.sol",
        "other_poc_paths": [],
        "replayable_offline": False,
    }


def test_real_csv_filters(real_csv: Path) -> None:
    catalog = load_catalog(real_csv)
    reentrancy_eth = catalog.filter(vulnerability_class="reentrancy", chain="mainnet")
    assert len(reentrancy_eth) == 28
    assert len(catalog.filter(chain="56")) == len(catalog.filter(chain="BSC")) == 393
    assert len(catalog.filter(chain="Avalanche")) == 13
    assert [r.id for r in catalog.filter(chain="devnet")] == BUNDLED


def test_bundled_scenarios_are_records() -> None:
    records = bundled_records()
    assert [r.id for r in records] == BUNDLED
    bank = records[0]
    assert (bank.id, bank.source, bank.chain, bank.chain_id) == (
        "reentrancy-bank",
        "bundled",
        "devnet",
        31337,
    )
    assert bank.vulnerability_class is VulnerabilityClass.REENTRANCY
    assert bank.severity is Severity.CRITICAL
    assert (bank.loss_usd, bank.date, bank.replayable_offline) == (None, None, True)
    assert bank.poc_path == "src/timemachine/catalog/scenarios/reentrancy_bank.py"
    V = VulnerabilityClass
    assert [(r.vulnerability_class, r.vulnerability_text, r.severity) for r in records[:7]] == [
        (V.REENTRANCY, "reentrancy", Severity.CRITICAL),
        (V.REENTRANCY, "reentrancy", Severity.CRITICAL),  # ShareVault left with 0 wei
        (V.ACCESS_CONTROL, "access_control", Severity.CRITICAL),  # TreasuryWallet left with 0
        (V.SIGNATURE_REPLAY, "signature_replay", Severity.HIGH),  # 8 of ChequeBank's 18 ETH
        (V.OTHER, "none", Severity.LOW),  # benign control
        (V.OTHER, "none", Severity.LOW),  # benign control
        (V.INTEGER_OVERFLOW, "integer_overflow", Severity.CRITICAL),  # BatchToken left with 0
    ]
    assert [r.loss_text is None for r in records[:7]] == [False] * 4 + [True] * 2 + [False]
    for record in records:  # benign controls state no loss and rank low; exploits state theirs
        control = record.vulnerability_text == "none"
        assert (record.loss_text is None, record.severity is Severity.LOW) == (control, control)


def test_missing_file_keeps_bundled_scenarios(tmp_path: Path) -> None:
    catalog = load_catalog(tmp_path / "absent.csv")
    assert [r.id for r in catalog.records] == BUNDLED
    assert len(catalog.warnings) == 1
    assert "absent.csv: not found" in catalog.warnings[0]
    with pytest.raises(NotFoundError, match=r"absent\.csv: not found"):
        catalog.get("2018-04-22-beauty-chain")
    with pytest.raises(NotFoundError):
        read_incidents(tmp_path / "absent.csv")


def test_malformed_rows_are_skipped_and_counted(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        BEC,
        "22-04-2018,Bad Date,Overflow,,,Ethereum,,,",
        "2018-04-23,,Overflow,,,Ethereum,,,",  # no name
        "2018-04-24,Bad Block,Overflow,,,Ethereum,,12x,",
        "2018-04-25,Bad Tx,Overflow,,,Ethereum,0x1234,,",
        "2018-04-26,Too Many,Overflow,,,Ethereum,,,,extra",
        "2018-04-27,Too Few,Overflow",
        "2018-04-28,Beauty Chain,Flashloan attack,~$29BNB,BNB,Avalanche,,,a.sol;b.sol",
    )
    catalog = load_catalog(path)
    assert catalog.skipped_rows == 6
    assert catalog.warnings == (f"skipped 6 malformed row(s) in {path.resolve()}",)
    ids = [r.id for r in catalog.records]
    assert ids == [*BUNDLED, "2018-04-22-beauty-chain", "2018-04-28-beauty-chain"]
    bec = catalog.get("2018-04-22-beauty-chain")
    assert bec.attack_txs == ["0xad89ff16fd1ebe3a0a7cf4ed282302c06626c1af33221ebe0d3a470aba4a660f"]
    other = catalog.get("2018-04-28-beauty-chain")
    assert (other.chain, other.chain_id, other.loss_usd, other.severity) == (
        "Avalanche",
        None,
        None,
        Severity.UNKNOWN,
    )
    assert (other.poc_path, other.other_poc_paths) == ("a.sol", ["b.sol"])
    assert other.vulnerability_class is VulnerabilityClass.FLASH_LOAN


def test_duplicate_slugs_get_a_suffix(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, BEC, BEC.replace("Beauty Chain", "Beauty  Chain!")))
    assert [r.id for r in catalog.records[len(BUNDLED) :]] == [
        "2018-04-22-beauty-chain",
        "2018-04-22-beauty-chain-2",
    ]


def test_a_file_without_the_columns_is_a_readable_warning(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    catalog = load_catalog(path)
    assert [r.id for r in catalog.records] == BUNDLED
    assert catalog.warnings[0].endswith("no column(s) " + ", ".join(CSV_COLUMNS))


def test_filters_reject_unknown_values(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, BEC))
    assert [r.id for r in catalog.filter(vulnerability_class="integer-overflow")] == [
        "integer-overflow-token",
        "2018-04-22-beauty-chain",
    ]
    # the bundled scenarios that (nearly) empty their victim, then BEC
    critical = [scenario.id for scenario in SCENARIOS if scenario.severity == "critical"]
    assert [r.id for r in catalog.filter(severity="CRITICAL")] == [
        *critical,
        "2018-04-22-beauty-chain",
    ]
    assert len(critical) == 9
    with pytest.raises(InvalidInputError, match="valid: reentrancy, flash_loan"):
        catalog.filter(vulnerability_class="oops")
    with pytest.raises(InvalidInputError, match="valid: critical, high, medium, low, unknown"):
        catalog.filter(severity="severe")
    with pytest.raises(InvalidInputError, match="unknown chain 'mars'; valid: ethereum"):
        catalog.filter(chain="mars")


def test_slug_and_chain_ids() -> None:
    assert slug("Beauty Chain") == "beauty-chain"
    assert slug("Ünïcode & Co.") == "unicode-co"
    assert slug("!!!") == "unnamed"
    assert (chain_id_for("Ethereum"), chain_id_for("BSC"), chain_id_for("zkSync Era")) == (
        1,
        56,
        None,
    )
    assert (chain_id_for(""), chain_id_for(None), chain_id_for("Multi-Chain")) == (None, None, None)
