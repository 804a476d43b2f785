"""ABI fragments from text signatures or JSON ABIs, indexed by selector/topic, plus a bundled table.

Selectors and topics are always computed with keccak from the canonical signature, never typed in.
The bundled table (`data/signatures.txt`, human-readable ABI lines) is parsed once, on first use.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from typing import Any, Literal

from eth_abi.abi import is_encodable_type
from eth_utils.crypto import keccak

from timemachine.errors import SignatureError

FragmentKind = Literal["function", "event", "error"]

_TOKEN = re.compile(r"\s*(?:([A-Za-z_$][A-Za-z0-9_$]*)|(\d+)|(.))")
_MODIFIERS = frozenset(
    {"external", "public", "view", "pure", "payable", "nonpayable", "virtual", "override"}
)
_LOCATIONS = frozenset({"memory", "calldata", "storage"})
_TYPE_ALIASES = {"uint": "uint256", "int": "int256", "byte": "bytes1"}


@dataclass(frozen=True, slots=True)
class Param:
    """One ABI parameter: canonical type (tuples as `(t1,t2)[]`), name ("" if unnamed), indexed."""

    name: str
    type: str
    indexed: bool = False


@dataclass(frozen=True, slots=True)
class Fragment:
    """A function, event or error. `outputs` is None when a function's returns are unknown."""

    kind: FragmentKind
    name: str
    inputs: tuple[Param, ...]
    outputs: tuple[Param, ...] | None = None
    anonymous: bool = False
    signature: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        types = ",".join(param.type for param in self.inputs)
        object.__setattr__(self, "signature", f"{self.name}({types})")

    @property
    def selector(self) -> str:
        """4-byte selector as 0x-hex (functions and errors)."""
        return _hash_hex(self.signature)[:10]

    @property
    def topic(self) -> str:
        """32-byte topic0 as 0x-hex (events)."""
        return _hash_hex(self.signature)

    @property
    def key(self) -> str:
        """The lookup key: topic0 for events, selector otherwise."""
        return self.topic if self.kind == "event" else self.selector


@lru_cache(maxsize=4096)
def _hash_hex(signature: str) -> str:
    return "0x" + bytes(keccak(text=signature)).hex()


def keccak_signature(signature: str) -> str:
    """keccak256 of a canonical signature as 0x-hex (topic0; its first 4 bytes are the selector)."""
    return _hash_hex(signature)


# --- text signatures -----------------------------------------------------------------------------


class _Tokens:
    def __init__(self, text: str) -> None:
        self.items: list[str] = []
        position = 0
        text = text.strip().rstrip(";")
        while position < len(text):
            match = _TOKEN.match(text, position)
            if match is None or match.end() == position:
                break
            token = match.group(1) or match.group(2) or match.group(3)
            if token:
                self.items.append(token)
            position = match.end()
        self.at = 0

    def peek(self) -> str | None:
        return self.items[self.at] if self.at < len(self.items) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise SignatureError("unexpected end of signature")
        self.at += 1
        return token

    def expect(self, token: str) -> None:
        got = self.take()
        if got != token:
            raise SignatureError(f"expected {token!r}, got {got!r}")


def _array_suffix(tokens: _Tokens) -> str:
    suffix = ""
    while tokens.peek() == "[":
        tokens.take()
        size = ""
        if tokens.peek() != "]":
            size = tokens.take()
            if not size.isdigit():
                raise SignatureError(f"bad array size {size!r}")
        tokens.expect("]")
        suffix += f"[{size}]"
    return suffix


def _parse_type(tokens: _Tokens) -> str:
    token = tokens.peek()
    if token == "tuple":
        tokens.take()
        token = tokens.peek()
    if token == "(":
        components = _parse_params(tokens, allow_indexed=False)
        canonical = "(" + ",".join(param.type for param in components) + ")"
    else:
        base = tokens.take()
        canonical = _TYPE_ALIASES.get(base, base)
        if base in ("fixed", "ufixed"):
            canonical = f"{base}128x18"
    return canonical + _array_suffix(tokens)


def _parse_params(tokens: _Tokens, *, allow_indexed: bool) -> tuple[Param, ...]:
    tokens.expect("(")
    params: list[Param] = []
    if tokens.peek() == ")":
        tokens.take()
        return ()
    while True:
        type_ = _validate_type(_parse_type(tokens))
        indexed = False
        name = ""
        while tokens.peek() not in (",", ")", None):
            word = tokens.take()
            if word == "indexed" and allow_indexed:
                indexed = True
            elif word in _LOCATIONS:
                continue
            elif not name and re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$]*", word):
                name = word
            else:
                raise SignatureError(f"unexpected {word!r} in parameter list")
        params.append(Param(name=name, type=type_, indexed=indexed))
        closing = tokens.take()
        if closing == ")":
            return tuple(params)
        if closing != ",":
            raise SignatureError(f"expected ',' or ')', got {closing!r}")


@lru_cache(maxsize=1024)
def _validate_type(type_: str) -> str:
    if not is_encodable_type(type_):
        raise SignatureError(f"not an ABI type: {type_!r}")
    return type_


def parse_signature(text: str) -> Fragment:
    """Parse one human-readable ABI line, e.g. `event Transfer(address indexed from, ...)`.

    A line without a leading kind is read as a function.
    """
    tokens = _Tokens(text)
    kind_token = tokens.peek()
    kind: FragmentKind = "function"
    if kind_token in ("function", "event", "error"):
        kind = kind_token  # type: ignore[assignment]
        tokens.take()
    name = tokens.take()
    if not re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$]*", name):
        raise SignatureError(f"bad name {name!r} in {text!r}")
    inputs = _parse_params(tokens, allow_indexed=kind == "event")
    outputs: tuple[Param, ...] | None = () if kind == "function" else None
    anonymous = False
    while (token := tokens.peek()) is not None:
        tokens.take()
        if token == "returns" and kind == "function":
            outputs = _parse_params(tokens, allow_indexed=False)
        elif token == "anonymous" and kind == "event":
            anonymous = True
        elif token not in _MODIFIERS:
            raise SignatureError(f"unexpected {token!r} in {text!r}")
    return Fragment(kind=kind, name=name, inputs=inputs, outputs=outputs, anonymous=anonymous)


# --- JSON ABI ------------------------------------------------------------------------------------


def _abi_param_type(entry: Mapping[str, Any]) -> str:
    type_ = str(entry.get("type", ""))
    if type_.startswith("tuple"):
        components = entry.get("components") or []
        inner = ",".join(_abi_param_type(component) for component in components)
        return _validate_type(f"({inner}){type_[len('tuple') :]}")
    return _validate_type(_TYPE_ALIASES.get(type_, type_))


def _abi_params(entries: Iterable[Mapping[str, Any]] | None) -> tuple[Param, ...]:
    return tuple(
        Param(
            name=str(entry.get("name") or ""),
            type=_abi_param_type(entry),
            indexed=bool(entry.get("indexed", False)),
        )
        for entry in entries or ()
    )


def fragment_from_abi(entry: Mapping[str, Any]) -> Fragment | None:
    """A Fragment from one JSON ABI entry; None for constructor, fallback and receive entries."""
    kind = entry.get("type", "function")
    if kind not in ("function", "event", "error"):
        return None
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise SignatureError(f"ABI {kind} entry without a name: {dict(entry)!r}")
    inputs = _abi_params(entry.get("inputs"))
    outputs = _abi_params(entry.get("outputs")) if kind == "function" else None
    return Fragment(
        kind=kind,
        name=name,
        inputs=inputs,
        outputs=outputs,
        anonymous=bool(entry.get("anonymous", False)),
    )


# --- tables --------------------------------------------------------------------------------------


class SignatureTable:
    """Fragments by selector (functions, errors) and topic0 (events), in insertion order."""

    def __init__(self, fragments: Iterable[Fragment] = ()) -> None:
        self.functions: dict[str, list[Fragment]] = {}
        self.errors: dict[str, list[Fragment]] = {}
        self.events: dict[str, list[Fragment]] = {}
        for fragment in fragments:
            self.add(fragment)

    def _index(self, kind: FragmentKind) -> dict[str, list[Fragment]]:
        if kind == "function":
            return self.functions
        if kind == "error":
            return self.errors
        return self.events

    def add(self, fragment: Fragment) -> None:
        """Index a fragment (anonymous events have no topic0 and are skipped; duplicates too)."""
        if fragment.anonymous:
            return
        bucket = self._index(fragment.kind).setdefault(fragment.key, [])
        if fragment not in bucket:
            bucket.append(fragment)

    def lookup(self, kind: FragmentKind, key: str) -> list[Fragment]:
        """Candidates for a selector or topic0 (0x-hex, any case)."""
        return self._index(kind).get(key.lower(), [])

    def __len__(self) -> int:
        return sum(
            len(bucket)
            for index in (self.functions, self.errors, self.events)
            for bucket in index.values()
        )


def parse_signature_lines(lines: Iterable[str]) -> list[Fragment]:
    """Parse text lines, skipping blanks and `#` comments; errors name the line number."""
    fragments = []
    for number, raw in enumerate(lines, start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            fragments.append(parse_signature(line))
        except SignatureError as exc:
            raise SignatureError(f"line {number}: {exc}") from exc
    return fragments


@cache
def bundled_table() -> SignatureTable:
    """The bundled signature table, parsed and hashed once."""
    text = resources.files("timemachine.trace").joinpath("data/signatures.txt").read_text("utf-8")
    return SignatureTable(parse_signature_lines(text.splitlines()))
