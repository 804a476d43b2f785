"""Decode calldata, return data, logs and revert data with registered ABIs and the bundled table.

Never raises on garbage: anything that does not decode cleanly gives None. When several fragments
share a selector or topic, every candidate is tried and the one whose encoding round-trips the
input exactly wins (then the one whose output round-trips); registered ABIs come before the bundled
table, and earlier entries before later ones, among equally good candidates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_abi.exceptions import DecodingError, EncodingError, ParseError
from eth_abi.grammar import ABIType, BasicType, TupleType

from timemachine.errors import InvalidInputError, SignatureError
from timemachine.hexutil import checksum, hex_to_bytes
from timemachine.models import DecodedArg, DecodedCall, DecodedEvent
from timemachine.trace.formatting import abi_type, format_value
from timemachine.trace.signatures import (
    Fragment,
    FragmentKind,
    Param,
    SignatureTable,
    bundled_table,
    fragment_from_abi,
    parse_signature_lines,
)

ERROR_STRING_SELECTOR = "0x08c379a0"
"""Selector of Solidity's `Error(string)` (require/revert with a message)."""
PANIC_SELECTOR = "0x4e487b71"
"""Selector of Solidity's `Panic(uint256)` (compiler-inserted checks)."""

PANIC_REASONS: dict[int, str] = {
    0x00: "generic/unspecified error",
    0x01: "assertion failed",
    0x11: "arithmetic underflow or overflow",
    0x12: "division or modulo by zero",
    0x21: "failed to convert value into enum type",
    0x22: "storage byte array that is incorrectly encoded",
    0x31: "called `.pop()` on an empty array",
    0x32: "array out-of-bounds access",
    0x41: "out of memory",
    0x51: "called a zero-initialized variable of internal function type",
}
"""Solidity panic codes, worded as Foundry (alloy) words them."""

DECODE_ERRORS = (
    DecodingError,
    EncodingError,
    ParseError,
    ValueError,
    TypeError,
    OverflowError,
    IndexError,
)
"""What eth_abi raises on malformed payloads (bad padding, pointers, UTF-8, lengths)."""


def panic_reason(code: int) -> str:
    """`panic: <meaning> (0x11)` for a Solidity panic code."""
    meaning = PANIC_REASONS.get(code, "unknown panic code")
    return f"panic: {meaning} (0x{code:02x})"


def to_json_value(type_: str, value: Any) -> Any:
    """An eth_abi-decoded value made JSON-ready: checksummed addresses, 0x-hex bytes, lists."""
    return _jsonify(abi_type(type_), value)


def _jsonify(parsed: ABIType, value: Any) -> Any:
    if parsed.is_array:
        return [_jsonify(parsed.item_type, item) for item in value]
    if isinstance(parsed, TupleType):
        return [
            _jsonify(component, item)
            for component, item in zip(parsed.components, value, strict=True)
        ]
    if isinstance(parsed, BasicType) and parsed.base == "address":
        return checksum(value)
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def _is_hashed_when_indexed(type_: str) -> bool:
    """Reference types (string, bytes, arrays, structs) are logged as the keccak of their value."""
    parsed = abi_type(type_)
    if parsed.is_array or isinstance(parsed, TupleType):
        return True
    return isinstance(parsed, BasicType) and parsed.base in ("string", "bytes")


CACHE_PAYLOADS_UP_TO = 1024
"""Payloads up to this many bytes have their decodings memoized (traces repeat calls a lot)."""


def _types(params: Sequence[Param]) -> tuple[str, ...]:
    return tuple(param.type for param in params)


def decode_values(types: tuple[str, ...], payload: bytes) -> tuple[Any, ...] | None:
    """eth_abi-decoded values (strict), or None when the payload does not decode."""
    if len(payload) <= CACHE_PAYLOADS_UP_TO:
        return _decode_cached(types, payload)
    return _decode(types, payload)


def round_trips(types: tuple[str, ...], payload: bytes) -> bool:
    """Whether `payload` decodes and re-encodes to exactly itself (no stray or odd bytes)."""
    if len(payload) <= CACHE_PAYLOADS_UP_TO:
        return _round_trips_cached(types, payload)
    return _round_trips(types, payload)


def _decode(types: tuple[str, ...], payload: bytes) -> tuple[Any, ...] | None:
    try:
        return tuple(abi_decode(list(types), payload))
    except DECODE_ERRORS:
        return None


def _round_trips(types: tuple[str, ...], payload: bytes) -> bool:
    values = decode_values(types, payload)
    if values is None:
        return False
    try:
        return bool(abi_encode(list(types), values) == payload)
    except DECODE_ERRORS:
        return False


_decode_cached = lru_cache(maxsize=4096)(_decode)
_round_trips_cached = lru_cache(maxsize=4096)(_round_trips)


def _args(params: Sequence[Param], values: Sequence[Any]) -> list[DecodedArg]:
    return [
        DecodedArg(name=param.name, type=param.type, value=to_json_value(param.type, value))
        for param, value in zip(params, values, strict=True)
    ]


class Decoder:
    """Decodes with registered ABIs first and the bundled signature table always on."""

    def __init__(self, *, bundled: bool = True) -> None:
        self._registered = SignatureTable()
        self._bundled = bundled_table() if bundled else SignatureTable()

    def register_abi(self, abi: Iterable[Mapping[str, Any]]) -> int:
        """Add a JSON ABI's functions, events and errors; returns how many were added.

        Constructor, fallback and receive entries are skipped; malformed entries raise
        InvalidInputError.
        """
        added = 0
        for entry in abi:
            try:
                fragment = fragment_from_abi(entry)
            except SignatureError as exc:
                raise InvalidInputError(f"ABI entry cannot be read: {exc}") from exc
            if fragment is not None:
                self._registered.add(fragment)
                added += 1
        return added

    def register_signatures(self, lines: Iterable[str]) -> int:
        """Add human-readable ABI lines (`event Transfer(address indexed from, ...)`)."""
        try:
            fragments = parse_signature_lines(lines)
        except SignatureError as exc:
            raise InvalidInputError(f"signature cannot be read: {exc}") from exc
        for fragment in fragments:
            self._registered.add(fragment)
        return len(fragments)

    def candidates(self, kind: FragmentKind, key: str) -> list[Fragment]:
        """Fragments for a selector/topic0: registered first, then bundled, without duplicates."""
        found = list(self._registered.lookup(kind, key))
        found += [fragment for fragment in self._bundled.lookup(kind, key) if fragment not in found]
        return found

    def _selector_hits(
        self, kind: FragmentKind, data: bytes | None
    ) -> list[tuple[Fragment, tuple[Any, ...]]]:
        """The `kind` fragments of `data`'s 4-byte selector whose inputs decode the rest of it,
        with the decoded values (none for data shorter than a selector)."""
        if data is None or len(data) < 4:
            return []
        body = data[4:]
        return [
            (fragment, values)
            for fragment in self.candidates(kind, "0x" + data[:4].hex())
            if (values := decode_values(_types(fragment.inputs), body)) is not None
        ]

    def decode_call(self, input_hex: str, output_hex: str | None = None) -> DecodedCall | None:
        """Decode calldata (and return data when given); None for unknown or malformed input."""
        data = hex_to_bytes(input_hex)
        hits = self._selector_hits("function", data)
        if data is None or not hits:
            return None
        body = data[4:]
        output = hex_to_bytes(output_hex) if output_hex is not None else None

        def score(hit: tuple[Fragment, tuple[Any, ...]]) -> tuple[bool, bool]:
            fragment = hit[0]
            output_exact = (
                output is not None
                and fragment.outputs is not None
                and round_trips(_types(fragment.outputs), output)
            )
            return round_trips(_types(fragment.inputs), body), output_exact

        fragment, values = hits[0] if len(hits) == 1 else max(hits, key=score)
        outputs = None
        if output is not None and fragment.outputs is not None:
            decoded = decode_values(_types(fragment.outputs), output)
            outputs = _args(fragment.outputs, decoded) if decoded is not None else None
        return DecodedCall(
            signature=fragment.signature,
            name=fragment.name,
            args=_args(fragment.inputs, values),
            outputs=outputs,
        )

    def decode_event(self, topics: Sequence[str], data: str) -> DecodedEvent | None:
        """Decode a log; the candidate's indexed count must equal len(topics) - 1."""
        payload = hex_to_bytes(data)
        words = [hex_to_bytes(topic) for topic in topics]
        if not words or payload is None or any(w is None or len(w) != 32 for w in words):
            return None
        topic_words = [word for word in words if word is not None]
        hits: list[tuple[Fragment, list[DecodedArg], Callable[[], bool]]] = []
        for fragment in self.candidates("event", "0x" + topic_words[0].hex()):
            if sum(param.indexed for param in fragment.inputs) != len(topic_words) - 1:
                continue
            decoded = self._event_args(fragment, topic_words[1:], payload)
            if decoded is not None:
                hits.append((fragment, *decoded))
        if not hits:
            return None
        fragment, args, _ = hits[0] if len(hits) == 1 else max(hits, key=lambda hit: hit[2]())
        return DecodedEvent(signature=fragment.signature, name=fragment.name, args=args)

    @staticmethod
    def _event_args(
        fragment: Fragment, topics: list[bytes], payload: bytes
    ) -> tuple[list[DecodedArg], Callable[[], bool]] | None:
        """The event's arguments in declaration order, and a check that topics and data round-trip
        (only needed to rank colliding candidates)."""
        by_position: dict[int, DecodedArg] = {}
        static_indexed: list[tuple[Param, bytes]] = []
        remaining = iter(topics)
        for position, param in enumerate(fragment.inputs):
            if not param.indexed:
                continue
            topic = next(remaining)
            if _is_hashed_when_indexed(param.type):
                by_position[position] = DecodedArg(
                    name=param.name, type="bytes32", value="0x" + topic.hex()
                )
                continue
            value = decode_values((param.type,), topic)
            if value is None:
                return None
            by_position[position] = _args([param], value)[0]
            static_indexed.append((param, topic))
        plain = [(pos, param) for pos, param in enumerate(fragment.inputs) if not param.indexed]
        values = decode_values(_types([param for _, param in plain]), payload)
        if values is None:
            return None
        for (position, param), value in zip(plain, values, strict=True):
            by_position[position] = _args([param], [value])[0]
        args = [by_position[position] for position in range(len(fragment.inputs))]

        def exact() -> bool:
            return round_trips(_types([param for _, param in plain]), payload) and all(
                round_trips((param.type,), topic) for param, topic in static_indexed
            )

        return args, exact

    def decode_error(self, output_hex: str | None) -> DecodedCall | None:
        """Decode revert data as a custom error (registered, then bundled); None if unknown."""
        data = hex_to_bytes(output_hex)
        hits = self._selector_hits("error", data)
        if data is None or not hits:
            return None
        body = data[4:]
        fragment, values = (
            hits[0]
            if len(hits) == 1
            else max(hits, key=lambda hit: round_trips(_types(hit[0].inputs), body))
        )
        return DecodedCall(
            signature=fragment.signature, name=fragment.name, args=_args(fragment.inputs, values)
        )

    def decode_revert(self, output_hex: str | None) -> str | None:
        """A revert reason: the Error(string) message, `panic: … (0x11)`, or `Name(arg=value)`."""
        data = hex_to_bytes(output_hex)
        if data is None or len(data) < 4:
            return None
        selector = "0x" + data[:4].hex()
        if selector == ERROR_STRING_SELECTOR:
            message = decode_values(("bytes",), data[4:])
            return message[0].decode("utf-8", errors="replace") if message else None
        if selector == PANIC_SELECTOR:
            code = decode_values(("uint256",), data[4:])
            return panic_reason(code[0]) if code else None
        error = self.decode_error(output_hex)
        if error is None:
            return None
        return format_error(error)


def format_error(error: DecodedCall) -> str:
    """`Name(arg=value, ...)`; unnamed arguments show their value only."""
    parts = []
    for arg in error.args:
        text = format_value(arg.type, arg.value, exp_hint=False)
        parts.append(f"{arg.name}={text}" if arg.name else text)
    return f"{error.name}({', '.join(parts)})"
