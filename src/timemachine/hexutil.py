"""Small, forgiving conversions of JSON-RPC hex values (never raise on garbage)."""

from __future__ import annotations

from functools import lru_cache

from eth_utils.address import is_hex_address, to_checksum_address

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


def hex_to_bytes(value: object) -> bytes | None:
    """0x-hex (or bare hex) to bytes; None for non-strings, odd lengths and non-hex digits."""
    if not isinstance(value, str):
        return None
    digits = value[2:] if value[:2] in ("0x", "0X") else value
    if len(digits) % 2:
        return None
    try:
        return bytes.fromhex(digits)
    except ValueError:
        return None


def quantity(value: object) -> int | None:
    """A JSON-RPC quantity (0x-hex, decimal string or int) as int; None if absent or unreadable."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            if text[:2] in ("0x", "0X"):
                return int(text, 16) if len(text) > 2 else 0
            return int(text)
        except ValueError:
            return None
    return None


def parse_int(value: object, default: int = 0) -> int:
    """A JSON-RPC quantity as int; `default` if absent or unreadable."""
    parsed = quantity(value)
    return default if parsed is None else parsed


def checksum(address: object) -> str:
    """EIP-55 form of a 20-byte hex address; other strings come back lowercased, None as 0x0."""
    if address is None:
        return ZERO_ADDRESS
    return _checksum(str(address).lower())


@lru_cache(maxsize=65536)
def _checksum(lowered: str) -> str:
    # Traces name the same few addresses over and over; EIP-55 costs a keccak each time.
    return str(to_checksum_address(lowered)) if is_hex_address(lowered) else lowered
