"""Capsule format version 2: a what-if as data, and version 1 capsules still loading."""

from __future__ import annotations

import json
from typing import Any

import pytest

from timemachine.errors import CapsuleError
from timemachine.models.capsule import (
    CapsuleOutcome,
    CapsuleStateEdit,
    CapsuleTransaction,
    CapsuleWhatIf,
)
from timemachine.replay.capsule import _edit_calls, capsule_submissions, state_edits
from timemachine.replay.capsule_io import dump_capsule, load_capsule

from .test_capsule_io import SENDER, capsule, document, encoded

BANK = "0x" + "9f" * 20
SLOT = "0x" + "00" * 31 + "01"
WORD = "0x" + "00" * 31 + "07"


def whatif_capsule() -> Any:
    plain = capsule()
    inserted = CapsuleTransaction(fields={"from": SENDER, "to": BANK, "input": "0x", "gas": "0x1"})
    target = plain.target.model_copy(update={"fields": {"from": SENDER, "to": BANK, "input": "0x"}})
    return plain.model_copy(
        update={
            "version": 2,
            "transactions": [inserted, target],
            "whatif": CapsuleWhatIf(
                description=["patched code of X (artifact Fixed)"],
                state=[
                    CapsuleStateEdit(address=BANK, code="0x6000"),
                    CapsuleStateEdit(address=BANK, storage={SLOT: WORD}),
                ],
                original=CapsuleOutcome(status=1, gas_used=50_000),
            ),
        }
    )


def test_a_version_1_document_still_loads() -> None:
    doc = document()
    doc["version"] = 1
    loaded = load_capsule(encoded(doc))
    assert loaded.version == 1
    assert loaded.whatif is None


def test_a_whatif_capsule_round_trips_as_version_2() -> None:
    carried = whatif_capsule()
    data = dump_capsule(carried, compress=True)
    loaded = load_capsule(data)
    assert loaded == carried
    assert loaded.version == 2
    assert loaded.transactions[0].hash is None


def test_a_whatif_needs_version_2() -> None:
    doc: dict[str, Any] = json.loads(dump_capsule(whatif_capsule(), compress=False))
    doc["version"] = 1
    with pytest.raises(CapsuleError, match="needs capsule version 2"):
        load_capsule(encoded(doc))
    del doc["whatif"]  # an inserted call without hash is version 2 as well
    with pytest.raises(CapsuleError, match="needs capsule version 2"):
        load_capsule(encoded(doc))


def test_the_target_needs_its_hash() -> None:
    doc: dict[str, Any] = json.loads(dump_capsule(whatif_capsule(), compress=False))
    doc["transactions"][-1]["hash"] = None
    with pytest.raises(CapsuleError, match="target transaction"):
        load_capsule(encoded(doc))


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        ({"address": BANK, "code": "0x6"}, "state.0.code"),
        ({"address": BANK, "balance": -1}, "state.0.balance"),
        ({"address": "0x12", "nonce": 1}, "state.0.address"),
        ({"address": BANK, "storage": {"slot": WORD}}, "state.0.storage"),
        ({"address": BANK, "method": "anvil_reset"}, "state.0.method"),
    ],
)
def test_hostile_state_edits_are_refused(edit: dict[str, Any], problem: str) -> None:
    doc: dict[str, Any] = json.loads(dump_capsule(whatif_capsule(), compress=False))
    doc["whatif"]["state"] = [edit]
    with pytest.raises(CapsuleError, match=f"whatif.{problem}"):
        load_capsule(encoded(doc))


def test_state_edits_round_trip_through_anvil_calls() -> None:
    calls = [
        ("anvil_setCode", [BANK, "0x6000"]),
        ("anvil_setBalance", [BANK, "0x0"]),
        ("anvil_setNonce", [BANK, "0x3"]),
        ("anvil_setStorageAt", [BANK, SLOT, WORD]),
    ]
    edits = state_edits(calls)
    assert [edit.balance for edit in edits] == [None, 0, None, None]
    assert _edit_calls(edits) == calls
    with pytest.raises(ValueError, match="anvil_reset"):
        state_edits([("anvil_reset", [BANK])])


def test_offline_setup_applies_the_edits_and_leaves_fresh_nonces_alone() -> None:
    setup, submissions = capsule_submissions(whatif_capsule())
    assert setup[:2] == [
        ("anvil_setCode", [BANK, "0x6000"]),
        ("anvil_setStorageAt", [BANK, SLOT, WORD]),
    ]
    assert setup[2] == ("anvil_autoImpersonateAccount", [True])
    assert [call for call in setup if call[0] == "anvil_setNonce"] == []  # no tx has a nonce
    assert [method for method, _ in submissions] == ["eth_sendTransaction"] * 2
    plain_setup, _ = capsule_submissions(capsule())
    assert plain_setup == [
        ("anvil_autoImpersonateAccount", [True]),
        ("anvil_setNonce", [SENDER.lower(), "0x1"]),
    ]
