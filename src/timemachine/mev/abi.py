"""A small, strict ABI decoder for call inputs: just what the protocol specs need.

Rules follow eth-abi 2 (what mev-inspect-py decoded with): a value whose padding bytes are not
what its type allows (an address with dirty upper bytes, a bool other than 0/1, an int whose
upper bytes are not its sign extension) or data too short for the types makes the whole call
undecodable, and the classifier then tries the next spec, like the reference does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eth_utils.crypto import keccak

_WORD = 32


class AbiDecodeError(ValueError):
    """Calldata that does not decode as the function's inputs."""


@dataclass(frozen=True, slots=True)
class Function:
    """One ABI function: its canonical signature, selector and named input types."""

    signature: str
    name: str
    selector: str
    names: tuple[str, ...]
    types: tuple[str, ...]
    flat: bool = False
    """Every input is a one-word static value: decoded straight from the hex (the hot path)."""

    def decode(self, calldata: str) -> dict[str, Any]:
        """The named inputs of `calldata` (0x-hex with the selector); AbiDecodeError if not."""
        if self.flat:
            if len(calldata) < 10 + 64 * len(self.types):
                raise AbiDecodeError("calldata too short")
            out: dict[str, Any] = {}
            start = 10
            try:
                for name, kind in zip(self.names, self.types, strict=True):
                    word = calldata[start : start + 64]
                    if kind in ("bytes", "string"):
                        out[name] = _hex_bytes(kind, calldata, int(word, 16))
                    else:
                        out[name] = _hex_word(kind, word)
                    start += 64
            except ValueError as error:
                raise AbiDecodeError(f"calldata is not hex: {error}") from None
            return out
        try:
            data = bytes.fromhex(calldata[10:])
        except ValueError as error:
            raise AbiDecodeError(f"calldata is not hex: {error}") from None
        values, _ = _decode_tuple(self.types, data, 0)
        return dict(zip(self.names, values, strict=True))


_ZERO_PAD = "0" * 24


def _hex_word(kind: str, word: str) -> Any:
    if kind == "address":
        if word[:24] != _ZERO_PAD:
            raise AbiDecodeError("address with non-zero padding")
        return "0x" + word[24:].lower()
    return _decode_static(kind, bytes.fromhex(word), 0)


def _hex_bytes(kind: str, calldata: str, pointer: int) -> bytes | str:
    at = 10 + 2 * pointer
    if at + 64 > len(calldata):
        raise AbiDecodeError("calldata too short for bytes")
    end = at + 64 + 2 * int(calldata[at : at + 64], 16)
    if end > len(calldata):
        raise AbiDecodeError("calldata too short for bytes")
    raw = bytes.fromhex(calldata[at + 64 : end])
    return raw if kind == "bytes" else raw.decode("utf-8", errors="replace")


_FLAT = re.compile(r"^(address|bool|u?int\d*|bytes\d*|string)$")


def function(name: str, *inputs: tuple[str, str]) -> Function:
    """Declare `name(type,…)` with input names: function("swap", ("to", "address"), …)."""
    types = tuple(kind for _, kind in inputs)
    signature = f"{name}({','.join(types)})"
    selector = "0x" + keccak(text=signature)[:4].hex()
    flat = all(_FLAT.match(kind) for kind in types)
    return Function(signature, name, selector, tuple(n for n, _ in inputs), types, flat)


@lru_cache(maxsize=512)
def _split_tuple(inner: str) -> tuple[str, ...]:
    parts: list[str] = []
    depth = 0
    start = 0
    for index, char in enumerate(inner):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(inner[start:index])
            start = index + 1
    if inner:
        parts.append(inner[start:])
    return tuple(parts)


_ARRAY = re.compile(r"^(.*)\[(\d*)\]$")


@lru_cache(maxsize=512)
def _is_dynamic(kind: str) -> bool:
    match = _ARRAY.match(kind)
    if match:
        return match.group(2) == "" or _is_dynamic(match.group(1))
    if kind.startswith("("):
        return any(_is_dynamic(part) for part in _split_tuple(kind[1:-1]))
    return kind in ("bytes", "string")


@lru_cache(maxsize=512)
def _head_size(kind: str) -> int:
    if _is_dynamic(kind):
        return _WORD
    match = _ARRAY.match(kind)
    if match:
        return int(match.group(2)) * _head_size(match.group(1))
    if kind.startswith("("):
        return sum(_head_size(part) for part in _split_tuple(kind[1:-1]))
    return _WORD


def _word(data: bytes, offset: int) -> bytes:
    if offset + _WORD > len(data):
        raise AbiDecodeError("calldata too short")
    return data[offset : offset + _WORD]


def _decode_tuple(
    types: tuple[str, ...] | list[str], data: bytes, base: int
) -> tuple[list[Any], int]:
    values: list[Any] = []
    offset = base
    for kind in types:
        if _is_dynamic(kind):
            pointer = int.from_bytes(_word(data, offset), "big")
            values.append(_decode_dynamic(kind, data, base + pointer))
            offset += _WORD
        else:
            values.append(_decode_static(kind, data, offset))
            offset += _head_size(kind)
    return values, offset


def _decode_dynamic(kind: str, data: bytes, offset: int) -> Any:
    if kind in ("bytes", "string"):
        length = int.from_bytes(_word(data, offset), "big")
        end = offset + _WORD + length
        if end > len(data):
            raise AbiDecodeError("calldata too short for bytes")
        raw = data[offset + _WORD : end]
        return raw if kind == "bytes" else raw.decode("utf-8", errors="replace")
    match = _ARRAY.match(kind)
    if match:
        element = match.group(1)
        if match.group(2) == "":
            count = int.from_bytes(_word(data, offset), "big")
            offset += _WORD
        else:
            count = int(match.group(2))
        if count * _head_size(element) > len(data):
            raise AbiDecodeError("array longer than calldata")
        values, _ = _decode_tuple([element] * count, data, offset)
        return values
    values, _ = _decode_tuple(_split_tuple(kind[1:-1]), data, offset)
    return values


def _decode_static(kind: str, data: bytes, offset: int) -> Any:
    match = _ARRAY.match(kind)
    if match:
        values, _ = _decode_tuple([match.group(1)] * int(match.group(2)), data, offset)
        return values
    if kind.startswith("("):
        values, _ = _decode_tuple(_split_tuple(kind[1:-1]), data, offset)
        return values
    word = _word(data, offset)
    if kind == "address":
        if any(word[:12]):
            raise AbiDecodeError("address with non-zero padding")
        return "0x" + word[12:].hex()
    if kind == "bool":
        value = int.from_bytes(word, "big")
        if value > 1:
            raise AbiDecodeError("bool other than 0 or 1")
        return bool(value)
    if kind == "uint256":
        return int.from_bytes(word, "big")
    if kind.startswith("uint"):
        bits = int(kind[4:] or 256)
        value = int.from_bytes(word, "big")
        if value >> bits:
            raise AbiDecodeError(f"{kind} with non-zero padding")
        return value
    if kind.startswith("int"):
        bits = int(kind[3:] or 256)
        value = int.from_bytes(word, "big", signed=True)
        if not -(1 << (bits - 1)) <= value < (1 << (bits - 1)):
            raise AbiDecodeError(f"{kind} with bad sign padding")
        return value
    if kind.startswith("bytes"):
        size = int(kind[5:])
        if any(word[size:]):
            raise AbiDecodeError(f"{kind} with non-zero padding")
        return word[:size]
    raise AbiDecodeError(f"unsupported ABI type {kind}")
