"""Parse user-supplied files and flags into engine inputs, with one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from timemachine.errors import InvalidInputError
from timemachine.untrusted import load_json


def load_abi(path: Path) -> list[dict[str, Any]]:
    """A JSON ABI: a bare list, or an artifact object with an "abi" key (Foundry, Hardhat, solc)."""
    try:
        text = path.read_text()
    except OSError as error:
        raise InvalidInputError(f"cannot read ABI file {path}: {error.strerror}") from error
    except ValueError as error:  # not UTF-8
        raise InvalidInputError(f"ABI file {path} is not valid JSON: {error}") from error
    document = load_json(text, what=f"ABI file {path}")
    abi = document.get("abi") if isinstance(document, dict) else document
    if not isinstance(abi, list) or not all(isinstance(entry, dict) for entry in abi):
        raise InvalidInputError(
            f"ABI file {path} holds no ABI (expected a JSON list, or an object with an 'abi' list)"
        )
    return abi


def parse_labels(items: list[str]) -> dict[str, str]:
    """`ADDRESS=NAME` pairs (cast's `--label ADDRESS:NAME` is accepted too)."""
    if not items:
        return {}
    from eth_utils.address import is_hex_address, to_checksum_address  # ~70 ms to import

    labels: dict[str, str] = {}
    for item in items:
        separator = "=" if "=" in item else ":"
        address, _, name = item.partition(separator)
        if not is_hex_address(address.strip()) or not name.strip():
            raise InvalidInputError(f"--label {item!r} is not ADDRESS=NAME")
        labels[to_checksum_address(address.strip())] = name.strip()
    return labels
