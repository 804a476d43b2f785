"""Normalized trace data: geth callTracer / prestateTracer semantics, plus decoding.

Renderers and analysis read only these models, never raw engine JSON.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CallType = Literal[
    "CALL", "STATICCALL", "DELEGATECALL", "CALLCODE", "CREATE", "CREATE2", "SELFDESTRUCT"
]


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class DecodedArg(_Model):
    """One decoded ABI value. `value` is JSON-ready: ints stay ints, bytes become 0x-hex."""

    name: str
    type: str
    value: Any


class DecodedCall(_Model):
    """A function call (or custom error) decoded from calldata and, where possible, its output."""

    signature: str = Field(description="Canonical text signature, e.g. transfer(address,uint256).")
    name: str
    args: list[DecodedArg] = Field(default_factory=list)
    outputs: list[DecodedArg] | None = None


class DecodedEvent(_Model):
    """An event decoded from a log's topics and data."""

    signature: str
    name: str
    args: list[DecodedArg] = Field(default_factory=list)

    def arg(self, name: str) -> Any:
        """The value of the argument called `name` (KeyError when absent)."""
        for argument in self.args:
            if argument.name == name:
                return argument.value
        raise KeyError(name)


class LogEntry(_Model):
    """An emitted log, in the order the transaction emitted it."""

    address: str
    topics: list[str]
    data: str
    index: int | None = Field(default=None, description="Position among the tx's logs.")
    position: int | None = Field(
        default=None,
        description="Child calls the emitting frame had made before this log (callTracer).",
    )
    event: DecodedEvent | None = None


class CallFrame(_Model):
    """One call frame (geth callTracer semantics), with decoding and logs attached."""

    type: CallType
    from_: str = Field(alias="from")
    to: str | None = None
    value: int = 0
    gas: int = 0
    gas_used: int = 0
    input: str = "0x"
    output: str | None = None
    error: str | None = None
    revert_reason: str | None = None
    decoded: DecodedCall | None = None
    logs: list[LogEntry] = Field(default_factory=list)
    calls: list[CallFrame] = Field(default_factory=list)

    @property
    def selector(self) -> str | None:
        """The 4-byte function selector as 0x-hex, or None for plain transfers and creations."""
        if self.type in ("CREATE", "CREATE2") or len(self.input) < 10:
            return None
        return self.input[:10]

    def walk(self) -> Iterator[tuple[tuple[int, ...], CallFrame]]:
        """Every frame depth-first in execution order, with its path of child indexes.

        Iterative: re-entrancy exploits nest hundreds of frames deep.
        """
        stack: list[tuple[tuple[int, ...], CallFrame]] = [((), self)]
        while stack:
            path, frame = stack.pop()
            yield path, frame
            for position in range(len(frame.calls) - 1, -1, -1):
                stack.append(((*path, position), frame.calls[position]))

    def all_logs(self) -> list[LogEntry]:
        """Every log of the tree in emission order (by `index` when known)."""
        logs = [log for _, frame in self.walk() for log in frame.logs]
        if all(log.index is not None for log in logs):
            logs.sort(key=lambda log: log.index or 0)
        return logs


class AccountState(_Model):
    """An account as prestateTracer reports it; absent fields were not touched or not changed."""

    balance: int | None = None
    nonce: int | None = None
    code: str | None = None
    storage: dict[str, str] = Field(default_factory=dict)


class StateDiff(_Model):
    """prestateTracer diffMode: `pre` holds touched accounts before, `post` what changed after."""

    pre: dict[str, AccountState] = Field(default_factory=dict)
    post: dict[str, AccountState] = Field(default_factory=dict)


class TokenTransfer(_Model):
    """A movement of value: native ETH (from a call frame) or a token (from a log)."""

    standard: Literal["ETH", "ERC20", "ERC721", "WETH"]
    token: str | None = Field(default=None, description="Token contract; None for ETH.")
    from_: str = Field(alias="from")
    to: str
    amount: int = Field(description="Amount in base units (1 for an ERC-721 token).")
    token_id: int | None = None
    symbol: str | None = None
    decimals: int | None = None
    log_index: int | None = None


class BalanceChange(_Model):
    """Net change of one asset for one address over the transaction.

    Token rows read balanceOf on the fork right before and right after the transaction, so
    `delta` is what the holder's balance really did; `logged_delta` is the net of the token's own
    Transfer events, set only when it disagrees (a token whose events lie or omit something:
    fee-on-transfer, rebasing, broken accounting). Without readable balances (before and after
    None), `delta` is the Transfer-event net.
    """

    address: str
    asset: str = Field(description='"ETH" or the token contract address.')
    symbol: str | None = None
    decimals: int | None = None
    before: int | None = None
    after: int | None = None
    delta: int
    logged_delta: int | None = Field(
        default=None,
        description="Net of the token's Transfer events, when it differs from the read delta.",
    )
