"""The rule expression language: parsed and type-checked when a rule is loaded, then run as a
tree of Python closures (no `eval`, no attribute access the language does not name).

    tx.value >= 10 ether and tx.to in watchlist("treasury")
    finding.severity >= "high" and stage == "pending"
    "Transfer" in events and event.Transfer.value > 1000000

Grammar (precedence low → high): `or`, `and`, `not`, comparisons (`== != < <= > >= in`,
`not in`), operands: field paths, literals (integers, `1.5 ether`/`gwei`/`wei`, "strings",
true/false, [lists]) and calls of the functions in `FUNCTIONS`. A hand-written recursive-descent
parser: the grammar is a dozen rules, errors name the column, and it needs no dependency.

Absent values (no finding, no decoded call) are None: every comparison with None is false, and
so are a bare absent field and its `not`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from timemachine.rules.errors import RuleError
from timemachine.rules.event import STAGES
from timemachine.rules.view import SEVERITY_LEVELS, EventView, severity_level

Getter = Callable[[EventView], Any]

INT, STR, BOOL, ADDRESS, SEVERITY, ANY = "int", "str", "bool", "address", "severity", "any"
UNITS = {"wei": 1, "gwei": 10**9, "ether": 10**18, "eth": 10**18}


def _list(of: str) -> str:
    return f"list[{of}]"


def _element(kind: str) -> str | None:
    return kind[5:-1] if kind.startswith("list[") else None


def _attr_chain(*names: str) -> Getter:
    def get(view: EventView) -> Any:
        value: Any = view.event
        for name in names:
            if value is None:
                return None
            value = getattr(value, name)
        return value

    return get


def _optional(getter: Callable[[Any], Any], source: Callable[[EventView], Any]) -> Getter:
    def get(view: EventView) -> Any:
        item = source(view)
        return None if item is None else getter(item)

    return get


def _top_finding(view: EventView) -> Any:
    return view.top_finding


def _top_mev(view: EventView) -> Any:
    return view.top_mev


FIELDS: dict[str, tuple[str, Getter]] = {
    "kind": (STR, _attr_chain("kind")),
    "stage": (STR, _attr_chain("stage")),
    "chain": (STR, _attr_chain("chain")),
    "chain_id": (INT, _attr_chain("chain_id")),
    "provider": (STR, _attr_chain("provider")),
    "block.number": (INT, _attr_chain("block_number")),
    "tx.hash": (STR, _attr_chain("tx", "hash")),
    "tx.from": (ADDRESS, _attr_chain("tx", "from_")),
    "tx.to": (ADDRESS, _attr_chain("tx", "to")),
    "tx.value": (INT, _attr_chain("tx", "value")),
    "tx.gas": (INT, _attr_chain("tx", "gas")),
    "tx.gas_price": (INT, _attr_chain("tx", "gas_price")),
    "tx.nonce": (INT, _attr_chain("tx", "nonce")),
    "tx.selector": (STR, _attr_chain("tx", "selector")),
    "tx.input": (STR, _attr_chain("tx", "input")),
    "call.name": (STR, _attr_chain("call", "name")),
    "call.signature": (STR, _attr_chain("call", "signature")),
    "events": (_list(STR), lambda v: [name for name in v.logs_by_name]),
    "logs.addresses": (_list(ADDRESS), lambda v: [log.address for log in v.event.logs]),
    "logs.topics": (_list(STR), lambda v: sorted(v.event.topics())),
    "sim.success": (BOOL, _attr_chain("simulation", "success")),
    "sim.reverted": (
        BOOL,
        lambda v: None if v.event.simulation is None else not v.event.simulation.success,
    ),
    "sim.gas_used": (INT, _attr_chain("simulation", "gas_used")),
    "sim.error": (STR, _attr_chain("simulation", "error")),
    "finding.severity": (SEVERITY, _optional(lambda f: f.severity, _top_finding)),
    "finding.class": (STR, _optional(lambda f: f.class_, _top_finding)),
    "finding.detector": (STR, _optional(lambda f: f.detector, _top_finding)),
    "finding.classes": (_list(STR), lambda v: [f.class_ for f in v.event.findings]),
    "finding.count": (INT, lambda v: len(v.event.findings)),
    "mev.type": (STR, _optional(lambda m: m.type, _top_mev)),
    "mev.types": (_list(STR), lambda v: [m.type for m in v.event.mev]),
    "mev.profit": (INT, _optional(lambda m: m.profit, _top_mev)),
    "reorg.depth": (INT, _attr_chain("reorg_depth")),
}
"""Field path → (type, getter). `call.args.NAME` and `event.NAME.ARG` are typed `any`."""


@dataclass(frozen=True)
class Compiled:
    """A checked expression: its type and its evaluator."""

    type: str
    run: Getter
    fields: Mapping[str, Getter]
    """The field paths it reads and their getters: a match's evidence."""


# ---------------------------------------------------------------------------------------------
# Tokens

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<num>0x[0-9a-fA-F]+|\d+(?:\.\d+)?)
    | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,|\.)
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)
KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false"})


@dataclass(frozen=True)
class Token:
    kind: str  # num, str, op, name, kw, end
    text: str
    column: int


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while True:
        while position < len(source) and source[position].isspace():
            position += 1
        if position >= len(source):
            tokens.append(Token("end", "", position + 1))
            return tokens
        match = _TOKEN.match(source, position)
        if match is None or match.end() == position:
            raise RuleError(f"unexpected character {source[position]!r} at column {position + 1}")
        kind = match.lastgroup or ""
        text = match.group(kind)
        column = match.start(kind) + 1
        if kind == "name" and text in KEYWORDS:
            kind = "kw"
        tokens.append(Token(kind, text, column))
        position = match.end()


# ---------------------------------------------------------------------------------------------
# Syntax tree


@dataclass(frozen=True)
class Node:
    column: int


@dataclass(frozen=True)
class Literal(Node):
    type: str
    value: Any


@dataclass(frozen=True)
class Path(Node):
    parts: tuple[str, ...]


@dataclass(frozen=True)
class Call(Node):
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class ListOf(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Unary(Node):
    op: str
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str
    left: Node
    right: Node


COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})


class Parser:
    def __init__(self, source: str) -> None:
        self.tokens = tokenize(source)
        self.index = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.current
        self.index += 1
        return token

    def accept(self, kind: str, text: str | None = None) -> Token | None:
        token = self.current
        if token.kind == kind and (text is None or token.text == text):
            return self.advance()
        return None

    def expect(self, kind: str, text: str, what: str) -> Token:
        token = self.accept(kind, text)
        if token is None:
            raise self.error(f"expected {what}")
        return token

    def error(self, message: str) -> RuleError:
        token = self.current
        found = "the end" if token.kind == "end" else repr(token.text)
        return RuleError(f"{message} at column {token.column}, found {found}")

    def parse(self) -> Node:
        node = self.disjunction()
        if self.current.kind != "end":
            raise self.error("expected `and`, `or` or the end of the expression")
        return node

    def disjunction(self) -> Node:
        node = self.conjunction()
        while token := self.accept("kw", "or"):
            node = Binary(token.column, "or", node, self.conjunction())
        return node

    def conjunction(self) -> Node:
        node = self.negation()
        while token := self.accept("kw", "and"):
            node = Binary(token.column, "and", node, self.negation())
        return node

    def negation(self) -> Node:
        if token := self.accept("kw", "not"):
            return Unary(token.column, "not", self.negation())
        return self.comparison()

    def comparison(self) -> Node:
        left = self.operand()
        token = self.current
        if token.kind == "op" and token.text in COMPARISONS:
            self.advance()
            return Binary(token.column, token.text, left, self.operand())
        if self.accept("kw", "in"):
            return Binary(token.column, "in", left, self.operand())
        if token.kind == "kw" and token.text == "not":
            self.advance()
            self.expect("kw", "in", "`in` after `not`")
            return Unary(token.column, "not", Binary(token.column, "in", left, self.operand()))
        return left

    def operand(self) -> Node:
        token = self.current
        if token.kind == "num":
            self.advance()
            return self.number(token)
        if token.kind == "str":
            self.advance()
            return Literal(token.column, STR, _unquote(token.text))
        if token.kind == "kw" and token.text in ("true", "false"):
            self.advance()
            return Literal(token.column, BOOL, token.text == "true")
        if self.accept("op", "("):
            node = self.disjunction()
            self.expect("op", ")", "`)`")
            return node
        if self.accept("op", "["):
            items: list[Node] = []
            while not self.accept("op", "]"):
                if items:
                    self.expect("op", ",", "`,` or `]`")
                items.append(self.operand())
            return ListOf(token.column, tuple(items))
        if token.kind == "name":
            self.advance()
            if self.accept("op", "("):
                args: list[Node] = []
                while not self.accept("op", ")"):
                    if args:
                        self.expect("op", ",", "`,` or `)`")
                    args.append(self.operand())
                return Call(token.column, token.text, tuple(args))
            parts = [token.text]
            while self.accept("op", "."):
                part = self.current
                if part.kind not in ("name", "kw"):
                    raise self.error("expected a field name after `.`")
                parts.append(self.advance().text)
            return Path(token.column, tuple(parts))
        raise self.error("expected a field, a literal, a list or a function call")

    def number(self, token: Token) -> Literal:
        unit = self.current
        if unit.kind == "name" and unit.text in UNITS:
            self.advance()
            try:
                scaled = Decimal(token.text) * UNITS[unit.text]
            except InvalidOperation:
                raise RuleError(f"bad number {token.text!r} at column {token.column}") from None
            if scaled != scaled.to_integral_value():
                raise RuleError(
                    f"{token.text} {unit.text} is not a whole number of wei (column {token.column})"
                )
            return Literal(token.column, INT, int(scaled))
        if "." in token.text:
            raise RuleError(
                f"a fraction needs a unit (wei, gwei, ether) at column {token.column}: "
                "amounts are integers"
            )
        return Literal(token.column, INT, int(token.text, 0))


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


# ---------------------------------------------------------------------------------------------
# Type checking and compilation


@dataclass(frozen=True)
class Scope:
    """What a rule's expressions may name beyond the event: its file's watchlists."""

    watchlists: Mapping[str, frozenset[str]]


class Compiler:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.fields: dict[str, Getter] = {}

    def compile(self, node: Node) -> Compiled:
        kind, run = self.node(node)
        return Compiled(kind, run, dict(self.fields))

    def node(self, node: Node) -> tuple[str, Getter]:
        if isinstance(node, Literal):
            value = node.value
            return node.type, lambda _v: value
        if isinstance(node, Path):
            return self.path(node)
        if isinstance(node, ListOf):
            return self.list_literal(node)
        if isinstance(node, Call):
            return self.call(node)
        if isinstance(node, Unary):
            kind, run = self.node(node.operand)
            self.need_bool(kind, node.operand, "`not`")
            return BOOL, lambda v: _negate(run(v))
        assert isinstance(node, Binary)
        if node.op in ("and", "or"):
            return self.logical(node)
        if node.op == "in":
            return self.membership(node)
        return self.comparison(node)

    def need_bool(self, kind: str, node: Node, where: str) -> None:
        if kind not in (BOOL, ANY):
            raise RuleError(f"{where} needs a true/false value, got {kind} at column {node.column}")

    def path(self, node: Path) -> tuple[str, Getter]:
        dotted = ".".join(node.parts)
        if len(node.parts) == 3 and node.parts[:2] == ("call", "args"):
            name = node.parts[2]
            return self.read(dotted, ANY, lambda v: v.call_arg(name))
        if len(node.parts) == 3 and node.parts[0] == "event":
            event_name, arg = node.parts[1], node.parts[2]
            return self.read(dotted, ANY, lambda v: v.event_arg(event_name, arg))
        known = FIELDS.get(dotted)
        if known is None:
            raise RuleError(
                f"unknown field {dotted!r} at column {node.column}; known fields: "
                + ", ".join(sorted(FIELDS))
                + ", call.args.NAME, event.NAME.ARG"
            )
        return self.read(dotted, *known)

    def read(self, name: str, kind: str, getter: Getter) -> tuple[str, Getter]:
        self.fields[name] = getter
        return kind, getter

    def list_literal(self, node: ListOf) -> tuple[str, Getter]:
        compiled = [self.node(item) for item in node.items]
        kinds = {kind for kind, _ in compiled}
        if not all(isinstance(item, Literal) for item in node.items):
            raise RuleError(f"a list may hold literals only (column {node.column})")
        if len(kinds) > 1:
            raise RuleError(f"a list mixes {' and '.join(sorted(kinds))} at column {node.column}")
        values = [item.value for item in node.items if isinstance(item, Literal)]
        return _list(kinds.pop() if kinds else ANY), lambda _v: values

    def call(self, node: Call) -> tuple[str, Getter]:
        if node.name not in FUNCTIONS:
            raise RuleError(
                f"unknown function {node.name!r} at column {node.column}; known: "
                + ", ".join(sorted(FUNCTIONS))
            )
        arity = FUNCTIONS[node.name]
        if len(node.args) != arity or not all(
            isinstance(a, Literal) and a.type == STR for a in node.args
        ):
            raise RuleError(
                f"{node.name}() takes {arity} string literal argument(s) (column {node.column})"
            )
        args = [a.value for a in node.args if isinstance(a, Literal)]
        if node.name == "watchlist":
            members = self.scope.watchlists.get(args[0])
            if members is None:
                raise RuleError(
                    f'watchlist("{args[0]}") at column {node.column} is not defined in the '
                    "file's `watchlists:`"
                )
            return _list(ADDRESS), lambda _v: members
        address = args[0].lower()
        asset = "eth" if node.name == "eth_delta" else args[1].lower()
        label = f'{node.name}("{address}"' + ("" if asset == "eth" else f', "{asset}"') + ")"
        return self.read(label, INT, lambda v: v.delta(address, asset))

    def logical(self, node: Binary) -> tuple[str, Getter]:
        left_kind, left = self.node(node.left)
        right_kind, right = self.node(node.right)
        self.need_bool(left_kind, node.left, f"`{node.op}`")
        self.need_bool(right_kind, node.right, f"`{node.op}`")
        if node.op == "and":
            return BOOL, lambda v: bool(left(v)) and bool(right(v))
        return BOOL, lambda v: bool(left(v)) or bool(right(v))

    def membership(self, node: Binary) -> tuple[str, Getter]:
        left_kind, left = self.node(node.left)
        right_kind, right = self.node(node.right)
        element = _element(right_kind)
        if element is None and right_kind != ANY:
            raise RuleError(
                f"`in` needs a list on its right (a field list, [..] or watchlist()), got "
                f"{right_kind} at column {node.column}"
            )
        left_kind, left = self.coerce_literal(node.left, left_kind, left, element or ANY)
        if element not in (None, ANY) and not _compatible(left_kind, element):
            raise RuleError(
                f"`in` compares {left_kind} with a list of {element} (column {node.column})"
            )
        lower = ADDRESS in (element, left_kind)

        def contains(view: EventView) -> bool:
            item, items = left(view), right(view)
            if item is None or items is None:
                return False
            if lower and isinstance(item, str):
                item = item.lower()
            try:
                return item in items
            except TypeError:
                return False

        return BOOL, contains

    def coerce_literal(self, node: Node, kind: str, run: Getter, other: str) -> tuple[str, Getter]:
        """A string literal next to a severity is a severity level (checked); next to an address
        it is lowercased; next to `stage` it must be a stage."""
        if not (isinstance(node, Literal) and kind == STR):
            return kind, run
        text = str(node.value)
        if other == SEVERITY:
            if text not in SEVERITY_LEVELS:
                raise RuleError(
                    f'"{text}" is not a severity (one of {", ".join(SEVERITY_LEVELS)}) at '
                    f"column {node.column}"
                )
            return SEVERITY, lambda _v: text
        if other == ADDRESS:
            lowered = text.lower()
            return ADDRESS, lambda _v: lowered
        return kind, run

    def comparison(self, node: Binary) -> tuple[str, Getter]:
        left_kind, left = self.node(node.left)
        right_kind, right = self.node(node.right)
        left_kind, left = self.coerce_literal(node.left, left_kind, left, right_kind)
        right_kind, right = self.coerce_literal(node.right, right_kind, right, left_kind)
        self.check_stage(node)
        if not _compatible(left_kind, right_kind):
            raise RuleError(
                f"`{node.op}` compares {left_kind} with {right_kind} at column {node.column}"
            )
        ordered = node.op not in ("==", "!=")
        kinds = {left_kind, right_kind} - {ANY}
        if ordered and kinds and not kinds <= {INT, SEVERITY}:
            raise RuleError(
                f"`{node.op}` orders numbers and severities only, not {kinds.pop()} "
                f"(column {node.column})"
            )
        if SEVERITY in kinds:
            left, right = _as_level(left), _as_level(right)
        return BOOL, _comparator(node.op, left, right)

    def check_stage(self, node: Binary) -> None:
        for side, other in ((node.left, node.right), (node.right, node.left)):
            if (
                isinstance(side, Path)
                and side.parts == ("stage",)
                and isinstance(other, Literal)
                and other.value not in STAGES
            ):
                raise RuleError(
                    f'"{other.value}" is not a stage (one of {", ".join(STAGES)}) at column '
                    f"{other.column}"
                )


FUNCTIONS = {"watchlist": 1, "eth_delta": 1, "token_delta": 2}
"""watchlist("name"): the file's address list; eth_delta("0xaddr"): the address's ETH change in
wei; token_delta("0xaddr", "0xtoken"): its change of that token in base units."""


def _compatible(left: str, right: str) -> bool:
    if ANY in (left, right) or left == right:
        return True
    return {left, right} <= {STR, ADDRESS}


def _as_level(run: Getter) -> Getter:
    def level(view: EventView) -> int | None:
        value = run(view)
        return severity_level(value) if value in SEVERITY_LEVELS else None

    return level


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: bool(a == b),
    "!=": lambda a, b: bool(a != b),
    "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b),
}


def _comparator(op: str, left: Getter, right: Getter) -> Getter:
    apply = _OPERATORS[op]

    def compare(view: EventView) -> bool:
        a, b = left(view), right(view)
        if a is None or b is None:
            return False
        if isinstance(a, str) and isinstance(b, str) and a.startswith("0x") and b.startswith("0x"):
            a, b = a.lower(), b.lower()
        try:
            return apply(a, b)
        except TypeError:  # an `any` value of another type than the other side
            return False

    return compare


def compile_condition(source: str, scope: Scope) -> Compiled:
    """Parse and type-check `source` as a rule condition (it must be true/false)."""
    compiled = Compiler(scope).compile(Parser(source).parse())
    if compiled.type not in (BOOL, ANY):
        raise RuleError(f"a condition must be true/false, this one is {compiled.type}")
    run = compiled.run
    return Compiled(BOOL, lambda v: run(v) is True, compiled.fields)


def _negate(value: Any) -> bool:
    """`not`: an absent value stays false (`not sim.success` needs a simulation)."""
    return value is not None and not value
