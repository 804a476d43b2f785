"""Parse user-supplied files and flags into engine inputs, with one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from timemachine.errors import InvalidInputError
from timemachine.untrusted import load_json

if TYPE_CHECKING:
    from timemachine.trace.decoder import Decoder


def _json_file(path: Path, what: str) -> Any:
    """The JSON document in a user's file, or a one-line InvalidInputError naming `what` it is."""
    try:
        text = path.read_text()
    except OSError as error:
        raise InvalidInputError(f"cannot read {what} {path}: {error.strerror}") from error
    except ValueError as error:  # not UTF-8
        raise InvalidInputError(f"{what} {path} is not valid JSON: {error}") from error
    return load_json(text, what=f"{what} {path}")


def load_abi(path: Path) -> list[dict[str, Any]]:
    """A JSON ABI: a bare list, or an artifact object with an "abi" key (Foundry, Hardhat, solc)."""
    document = _json_file(path, "ABI file")
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


def load_label_file(path: Path) -> dict[str, str]:
    """Labels from a JSON file: `{"0xADDRESS": "Name", …}`, or a devnet manifest (its "labels")."""
    from eth_utils.address import is_hex_address, to_checksum_address  # ~70 ms to import

    document = _json_file(path, "label file")
    labels = document.get("labels", document) if isinstance(document, dict) else None
    if not isinstance(labels, dict) or not all(
        isinstance(name, str) and is_hex_address(address) for address, name in labels.items()
    ):
        raise InvalidInputError(
            f'label file {path} holds no labels (expected {{"0xADDRESS": "Name"}} or a devnet '
            "manifest)"
        )
    return {to_checksum_address(address): name for address, name in labels.items()}


def user_labels(items: list[str] | None, files: list[Path] | None) -> dict[str, str]:
    """`--labels FILE` (in order), then `--label ADDRESS=NAME` (which wins)."""
    labels: dict[str, str] = {}
    for path in files or []:
        labels.update(load_label_file(path))
    labels.update(parse_labels(items or []))
    return labels


def repeatable(flag: str, *aliases: str, help: str) -> Any:
    """A typer option that may be given several times; its help says so."""
    return typer.Option(flag, *aliases, help=f"{help}; repeatable.")


TxHashArg = Annotated[str, typer.Argument(help="Transaction hash.", show_default=False)]
QuickOption = Annotated[
    bool, typer.Option("--quick", help="Skip the block's earlier transactions.")
]
DepthOption = Annotated[
    int | None, typer.Option("--depth", min=0, help="Show the call tree to this depth.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ResultJsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
FullJsonOption = Annotated[bool, typer.Option("--json", help="Print the full result as JSON.")]
RpcUrlOption = Annotated[
    str | None,
    typer.Option("--rpc-url", "-r", envvar="WEB3_RPC_URL", help="Upstream JSON-RPC endpoint."),
]
LabelOption = Annotated[
    list[str] | None, repeatable("--label", "-l", help="Name an address: ADDRESS=NAME")
]
LabelsFileOption = Annotated[
    list[Path] | None,
    repeatable(
        "--labels",
        help='Labels from a JSON file ({"0xADDR": "Name"}) or a devnet manifest '
        "(`timemachine devnet --manifest`)",
    ),
]
ReportFileOption = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write the report here (default stdout).")
]
AbiOption = Annotated[
    list[Path] | None,
    repeatable("--abi", help="Extra ABI JSON (list or artifact) for decoding"),
]


def labels_and_abis(
    label: list[str] | None, labels_file: list[Path] | None, abi: list[Path] | None
) -> tuple[dict[str, str], list[list[dict[str, Any]]]]:
    """What --label, --labels and --abi give: address names, and extra ABIs to decode with."""
    return user_labels(label, labels_file), [load_abi(path) for path in abi or []]


def decoder_with(abis: list[list[dict[str, Any]]]) -> Decoder:
    """The default decoder, with the user's extra ABIs registered."""
    from timemachine.machine import default_decoder

    decoder = default_decoder()
    for abi in abis:
        decoder.register_abi(abi)
    return decoder
