"""Capsule files: round trips, and every way a corrupt or hostile file is refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import zstandard

from timemachine.errors import CapsuleError
from timemachine.models import BlockEnv
from timemachine.models.capsule import (
    MAX_CODE_HEX,
    MAX_TRANSACTIONS,
    Capsule,
    CapsuleAccount,
    CapsuleOutcome,
    CapsuleTransaction,
)
from timemachine.replay import capsule_io
from timemachine.replay.capsule_io import dump_capsule, load_capsule, read_capsule, write_capsule

SENDER = "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720"
TX_HASH = "0x" + "ab" * 32


def capsule() -> Capsule:
    return Capsule(
        chain_id=31337,
        hardfork="prague",
        block_env=BlockEnv(
            number=9, timestamp=1_700_000_108, coinbase="0x" + "00" * 20, gas_limit=30_000_000
        ),
        accounts={SENDER: CapsuleAccount(balance=10**18, nonce=1, storage={"0x1": "0x5"})},
        transactions=[
            CapsuleTransaction(hash=TX_HASH, fields={"from": SENDER, "to": None, "nonce": "0x1"})
        ],
        expected=CapsuleOutcome(status=1, gas_used=21_000),
    )


def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(dump_capsule(capsule(), compress=False))
    return loaded


def encoded(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).encode()


@pytest.mark.parametrize("name", ["c.json", "c.json.zst"])
def test_round_trip(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    write_capsule(capsule(), path)
    assert path.read_bytes().startswith(capsule_io.ZSTD_MAGIC) == name.endswith(".zst")
    assert read_capsule(path) == capsule()


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CapsuleError, match="cannot read capsule"):
        read_capsule(tmp_path / "nope.json")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"garbage", "is not valid JSON"),
        (json.dumps(document())[:-40].encode(), "is not valid JSON"),
        (b"[]", "is not a Time Machine capsule"),
        (encoded(document() | {"format": "other"}), "is not a Time Machine capsule"),
        (
            encoded(document() | {"version": 3}),
            "is capsule version 3; this build reads versions 1 and 2",
        ),
        (dump_capsule(capsule(), compress=True)[:-9], "is not valid zstd"),
        (b"[" * 100_000 + b"]" * 100_000, "nests JSON deeper than 64 levels"),
        (b'{"a":' * 70 + b"1" + b"}" * 70, "nests JSON deeper than 64 levels"),
    ],
)
def test_corrupt_files_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(CapsuleError, match=message):
        load_capsule(data)


def _without(doc: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != key}


def _account(**changes: Any) -> dict[str, Any]:
    doc = document()
    doc["accounts"][SENDER] |= changes
    return doc


@pytest.mark.parametrize(
    ("doc", "where"),
    [
        (_without(document(), "expected"), "expected"),
        (_without(document(), "accounts"), "accounts"),
        (document() | {"chain_id": 0}, "chain_id"),
        (document() | {"hardfork": "Prague; rm -rf /"}, "hardfork"),
        (document() | {"surprise": 1}, "surprise"),
        (document() | {"transactions": []}, "transactions"),
        (document() | {"accounts": {"0xnothex": {"balance": 1, "nonce": 0}}}, "accounts"),
        (_account(code="0xzz"), "code"),
        (_account(code="0x123"), "code"),
        (_account(code="0x" + "00" * (MAX_CODE_HEX // 2 + 1)), "code"),
        (_account(balance=2**256), "balance"),
        (_account(balance=-1), "balance"),
        (_account(nonce=2**64), "nonce"),
        (_account(storage={"0x" + "1" * 65: "0x1"}), "storage"),
    ],
)
def test_invalid_fields_are_named(doc: dict[str, Any], where: str) -> None:
    with pytest.raises(CapsuleError, match=where):
        load_capsule(encoded(doc))


def test_too_many_transactions_are_refused() -> None:
    doc = document()
    doc["transactions"] = doc["transactions"] * (MAX_TRANSACTIONS + 1)
    with pytest.raises(CapsuleError, match="transactions"):
        load_capsule(encoded(doc))


def test_a_decompression_bomb_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(capsule_io, "MAX_JSON_BYTES", 1024 * 1024)
    bomb = zstandard.ZstdCompressor().compress(b" " * (2 * 1024 * 1024))
    with pytest.raises(CapsuleError, match="inflates past 1 MiB"):
        load_capsule(bomb)


def test_an_oversized_file_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(capsule_io, "MAX_FILE_BYTES", 1024)
    with pytest.raises(CapsuleError, match="is larger than"):
        load_capsule(b" " * 2048)


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    doc = document() | {"source": {"note": '[{"\\"' * 100}}
    assert load_capsule(encoded(doc)).source == {"note": '[{"\\"' * 100}
