"""Token and ETH transfers out of a CallFrame tree."""

from __future__ import annotations

from typing import Any

from eth_utils.crypto import keccak

from timemachine.models import CallFrame, LogEntry, TokenTransfer
from timemachine.trace.transfers import extract_transfers

EOA = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
ROUTER = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
WETH = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
NFT = "0xBC4CA0EdA7647A8aB7C2061c2E118A18a936f13D"
VAULT = "0x8464135c8F25Da09e49BC8782676a84730C318bC"
ZERO = "0x0000000000000000000000000000000000000000"

TRANSFER = "0x" + keccak(text="Transfer(address,address,uint256)").hex()
DEPOSIT = "0x" + keccak(text="Deposit(address,uint256)").hex()
WITHDRAWAL = "0x" + keccak(text="Withdrawal(address,uint256)").hex()


def topic(address: str) -> str:
    return "0x" + "00" * 12 + address[2:].lower()


def uint(value: int) -> str:
    return "0x" + value.to_bytes(32, "big").hex()


def frame(
    to: str,
    *,
    sender: str = ROUTER,
    value: int = 0,
    type_: str = "CALL",
    error: str | None = None,
    logs: list[LogEntry] | None = None,
    calls: list[CallFrame] | None = None,
) -> CallFrame:
    fields: dict[str, Any] = {
        "type": type_,
        "from": sender,
        "to": to,
        "value": value,
        "error": error,
        "logs": logs or [],
        "calls": calls or [],
    }
    return CallFrame.model_validate(fields)


def log(address: str, topics: list[str], data: str = "0x", index: int | None = None) -> LogEntry:
    return LogEntry(address=address, topics=topics, data=data, index=index)


def rows(transfers: list[TokenTransfer]) -> list[tuple[Any, ...]]:
    return [
        (t.standard, t.token, t.from_, t.to, t.amount, t.token_id, t.log_index) for t in transfers
    ]


def test_eth_erc20_erc721_in_execution_order() -> None:
    trace = frame(
        ROUTER,
        sender=EOA,
        value=5,
        logs=[log(USDC, [TRANSFER, topic(ROUTER), topic(EOA)], uint(100), index=2)],
        calls=[
            frame(
                VAULT,
                value=3,
                logs=[log(USDC, [TRANSFER, topic(VAULT), topic(ROUTER)], uint(7), 0)],
            ),
            frame(NFT, logs=[log(NFT, [TRANSFER, topic(ZERO), topic(EOA), uint(42)], index=1)]),
        ],
    )
    assert rows(extract_transfers(trace)) == [
        ("ETH", None, EOA, ROUTER, 5, None, None),
        ("ETH", None, ROUTER, VAULT, 3, None, None),
        ("ERC20", USDC, VAULT, ROUTER, 7, None, 0),
        ("ERC721", NFT, ZERO, EOA, 1, 42, 1),
        ("ERC20", USDC, ROUTER, EOA, 100, None, 2),
    ]
    eth = extract_transfers(trace)[0]
    assert (eth.symbol, eth.decimals) == ("ETH", 18)


def test_reverted_frames_and_their_descendants_move_nothing() -> None:
    inner = frame(VAULT, value=9, logs=[log(USDC, [TRANSFER, topic(VAULT), topic(EOA)], uint(1))])
    trace = frame(
        ROUTER,
        sender=EOA,
        calls=[frame(VAULT, value=4, error="execution reverted", calls=[inner])],
    )
    assert extract_transfers(trace) == []
    assert extract_transfers(frame(ROUTER, sender=EOA, value=1, error="out of gas")) == []


def test_delegatecall_staticcall_callcode_move_no_eth_selfdestruct_does() -> None:
    trace = frame(
        ROUTER,
        sender=EOA,
        calls=[
            frame(VAULT, value=8, type_="DELEGATECALL"),
            frame(VAULT, value=0, type_="STATICCALL"),
            frame(VAULT, value=2, type_="CALLCODE"),
            frame(EOA, sender=VAULT, value=6, type_="SELFDESTRUCT"),
            frame(NFT, value=1, type_="CREATE"),
        ],
    )
    assert rows(extract_transfers(trace)) == [
        ("ETH", None, VAULT, EOA, 6, None, None),
        ("ETH", None, ROUTER, NFT, 1, None, None),
    ]


def test_weth_deposit_and_withdrawal() -> None:
    deposit = frame(WETH, value=10**18, logs=[log(WETH, [DEPOSIT, topic(ROUTER)], uint(10**18), 0)])
    withdraw = frame(
        WETH,
        logs=[log(WETH, [WITHDRAWAL, topic(ROUTER)], uint(4), 1)],
        calls=[frame(ROUTER, sender=WETH, value=4)],
    )
    trace = frame(ROUTER, sender=EOA, calls=[deposit, withdraw])
    assert rows(extract_transfers(trace)) == [
        ("ETH", None, ROUTER, WETH, 10**18, None, None),
        ("WETH", WETH, ZERO, ROUTER, 10**18, None, 0),
        ("ETH", None, WETH, ROUTER, 4, None, None),
        ("WETH", WETH, ROUTER, ZERO, 4, None, 1),
    ]


def test_weth_through_a_delegatecall_proxy_inherits_msg_value() -> None:
    implementation = frame(
        "0x0000000000000000000000000000000000000abc",
        sender=WETH,
        type_="DELEGATECALL",
        logs=[log(WETH, [DEPOSIT, topic(ROUTER)], uint(3), 0)],
    )
    trace = frame(ROUTER, sender=EOA, calls=[frame(WETH, value=3, calls=[implementation])])
    assert rows(extract_transfers(trace))[1] == ("WETH", WETH, ZERO, ROUTER, 3, None, 0)


def test_look_alike_deposit_and_withdrawal_events_are_not_weth() -> None:
    # A vault's Deposit(address indexed user, uint256 amount) without ETH attached, and a
    # Withdrawal that sends no ETH: same topics as WETH's, but no value moved.
    trace = frame(
        ROUTER,
        sender=EOA,
        calls=[
            frame(VAULT, logs=[log(VAULT, [DEPOSIT, topic(EOA)], uint(50), 0)]),
            frame(VAULT, logs=[log(VAULT, [WITHDRAWAL, topic(EOA)], uint(50), 1)]),
        ],
    )
    assert extract_transfers(trace) == []


def test_malformed_transfer_logs_are_skipped() -> None:
    dirty = "0x" + "ff" * 12 + ROUTER[2:].lower()
    trace = frame(
        ROUTER,
        sender=EOA,
        logs=[
            log(USDC, [TRANSFER, dirty, topic(EOA)], uint(1)),  # not an address word
            log(USDC, [TRANSFER, topic(ROUTER), topic(EOA)], "0x01"),  # short data
            log(NFT, [TRANSFER, topic(ROUTER), topic(EOA), uint(1)], uint(1)),  # 721 with data
            log(USDC, [TRANSFER], uint(1)),
            log(USDC, [], uint(1)),
        ],
    )
    assert extract_transfers(trace) == []
