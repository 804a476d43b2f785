"""User-supplied ABI files and address labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from timemachine.cli.inputs import load_abi, parse_labels
from timemachine.errors import InvalidInputError

ENTRY = {"type": "function", "name": "attack", "inputs": [], "outputs": []}


def test_a_bare_abi_list_loads(tmp_path: Path) -> None:
    path = tmp_path / "abi.json"
    path.write_text(json.dumps([ENTRY]))
    assert load_abi(path) == [ENTRY]


def test_an_artifact_with_an_abi_key_loads(tmp_path: Path) -> None:
    path = tmp_path / "Attacker.json"
    path.write_text(json.dumps({"abi": [ENTRY], "bytecode": "0x00"}))
    assert load_abi(path) == [ENTRY]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "is not valid JSON"),
        ('{"x": 1}', "holds no ABI"),
        ("[1, 2]", "holds no ABI"),
    ],
)
def test_bad_abi_files_are_rejected(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "abi.json"
    path.write_text(content)
    with pytest.raises(InvalidInputError, match=message):
        load_abi(path)


def test_a_missing_abi_file_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="cannot read ABI file"):
        load_abi(tmp_path / "missing.json")


def test_labels_accept_equals_and_colon_and_checksum_the_address() -> None:
    assert parse_labels(
        [
            "0x700b6a60ce7eaaea56f065753d8dcb9653dbad35=Attacker",
            "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0:Bank",
        ]
    ) == {
        "0x700b6A60ce7EaaEA56F065753d8dcB9653dbAD35": "Attacker",
        "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0": "Bank",
    }


@pytest.mark.parametrize("item", ["foo=bar", "0x700b6a60ce7eaaea56f065753d8dcb9653dbad35=", "x"])
def test_bad_labels_are_rejected(item: str) -> None:
    with pytest.raises(InvalidInputError, match="is not ADDRESS=NAME"):
        parse_labels([item])
