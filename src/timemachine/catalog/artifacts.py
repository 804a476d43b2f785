"""Compiled scenario contracts (written by scripts/compile_contracts.py), loaded by name."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict, Field

from timemachine.errors import InvalidInputError, NotFoundError


class Artifact(BaseModel):
    """ABI and bytecode of one compiled contract."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    contract_name: str = Field(alias="contractName")
    source_name: str = Field(alias="sourceName")
    source_sha256: str = Field(alias="sourceSha256")
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str = Field(alias="deployedBytecode")
    compiler: dict[str, Any]

    def deploy_data(self, *args: Any) -> bytes:
        """Init code followed by the ABI-encoded constructor arguments."""
        ctor = next((item for item in self.abi if item["type"] == "constructor"), None)
        types = _types(ctor["inputs"]) if ctor else []
        return bytes.fromhex(self.bytecode[2:]) + _encode(self.contract_name, types, args)

    def calldata(self, function: str, *args: Any) -> bytes:
        """Selector and ABI-encoded arguments of a call to `function` with `args`."""
        types = _types(self._function(function, len(args))["inputs"])
        selector = keccak(text=f"{function}({','.join(types)})")[:4]
        return selector + _encode(f"{self.contract_name}.{function}", types, args)

    def decode_output(self, function: str, arity: int, data: bytes) -> tuple[Any, ...]:
        """The decoded return values of `function` (the one taking `arity` arguments)."""
        types = _types(self._function(function, arity)["outputs"])
        return tuple(abi_decode(types, data))

    def _function(self, function: str, arity: int) -> dict[str, Any]:
        candidates = [
            item
            for item in self.abi
            if item["type"] == "function"
            and item["name"] == function
            and len(item["inputs"]) == arity
        ]
        if len(candidates) != 1:
            raise InvalidInputError(
                f"{self.contract_name} has {len(candidates)} functions {function} taking "
                f"{arity} arguments; expected exactly one"
            )
        return candidates[0]


def _types(inputs: list[dict[str, Any]]) -> list[str]:
    """Canonical ABI type strings, tuples spelled out."""
    spelled = []
    for param in inputs:
        kind = str(param["type"])
        if kind.startswith("tuple"):
            kind = f"({','.join(_types(param['components']))}){kind[len('tuple') :]}"
        spelled.append(kind)
    return spelled


def _encode(where: str, types: list[str], args: tuple[Any, ...]) -> bytes:
    if len(types) != len(args):
        raise InvalidInputError(f"{where} takes {len(types)} arguments, got {len(args)}")
    encoded: bytes = abi_encode(types, list(args))
    return encoded


BUNDLED = "scenarios/artifacts"
"""The first scenario set's artifacts (a folder of `timemachine.catalog`)."""


def artifact_names(folder: str = BUNDLED) -> list[str]:
    """Names of every artifact in `folder` (default: the bundled ones), sorted."""
    directory = files("timemachine.catalog").joinpath(*folder.split("/"))
    return sorted(
        p.name.removesuffix(".json") for p in directory.iterdir() if p.name.endswith(".json")
    )


def bundled_abis() -> list[list[dict[str, Any]]]:
    """The ABI of every bundled contract (for decoders), in artifact name order."""
    return [load_artifact(name).abi for name in artifact_names()]


@cache
def load_artifact(name: str, folder: str = BUNDLED) -> Artifact:
    """The artifact of contract `name` (e.g. 'EtherBank') in `folder` (default: the bundled
    ones); read once, then cached."""
    resource = files("timemachine.catalog").joinpath(*folder.split("/"), f"{name}.json")
    if not resource.is_file():
        raise NotFoundError(
            f"no compiled artifact {name!r}; known: {', '.join(artifact_names(folder))} "
            "(run scripts/compile_contracts.py after adding a contract)"
        )
    return Artifact.model_validate(json.loads(resource.read_text(encoding="utf-8")))
