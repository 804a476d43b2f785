"""End to end on a real trace: recorded from anvil 1.7.1 (debug_traceTransaction callTracer with
logs, prestateTracer diffMode, receipt logs; bytecode and storage dropped from the diff).

The transaction is `Attacker.attack{value: 1 ether}()` against this scenario (solc 0.8.37):

    Bank.deposit() emits Deposited; Bank.withdraw() sends the balance with a call, then emits
    Withdrawn (no reentrancy guard). Attacker.attack() deposits, withdraws, then deploys a Helper
    (whose constructor emits Born). Attacker.receive() emits Hit(n) and, on the first hit:
    re-enters Bank.withdraw() (succeeds), calls this.noisy() (emits Hit(999), reverts "nope"),
    this.boom() (Panic 0x11), Token.transfer(bank, 5e6) (reverts InsufficientBalance, the attacker
    holds 3e6) and Token.transfer(bank, 1).

anvil reports `index` on trace logs that counts the dropped reverted log (4 is skipped); the
receipt's logIndex is the truth and normalization must ignore the trace's own field.
"""

from __future__ import annotations

from typing import Any

import pytest

from timemachine.models import CallFrame
from timemachine.trace.balances import balance_changes
from timemachine.trace.decoder import Decoder
from timemachine.trace.normalize import normalize_call_trace, normalize_prestate_diff
from timemachine.trace.render import render_trace_plain
from timemachine.trace.transfers import extract_transfers

EOA = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
ATTACKER = "0x8464135c8F25Da09e49BC8782676a84730C318bC"
BANK = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
HELPER = "0x8398bCD4f633C72939F9043dB78c574A91C99c0A"
COINBASE = "0x0000000000000000000000000000000000000000"
LABELS = {ATTACKER.lower(): "Attacker", BANK.lower(): "Bank", TOKEN.lower(): "Token"}
SCENARIO_SIGNATURES = [
    "function attack() payable",
    "function withdraw()",
    "function noisy()",
    "function boom() pure returns (uint256)",
    "event Hit(uint256 n)",
    "event Deposited(address indexed user, uint256 amount)",
    "event Withdrawn(address indexed user, uint256 amount)",
    "event Born(address who)",
    "error InsufficientBalance(address account, uint256 balance, uint256 needed)",
]

CALL_TRACE: dict[str, Any] = {
    "from": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
    "gas": "0x2d7478",
    "gasUsed": "0x28b6b",
    "to": "0x8464135c8f25da09e49bc8782676a84730c318bc",
    "input": "0x9e5faafc",
    "calls": [
        {
            "from": "0x8464135c8f25da09e49bc8782676a84730c318bc",
            "gas": "0x2c917c",
            "gasUsed": "0x5d29",
            "to": "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
            "input": "0xd0e30db0",
            "logs": [
                {
                    "address": "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
                    "topics": [
                        "0x2da466a7b24304f47e87fa2e1e5a81b9831ce54fec19055ce277ca2f39ba42c4",
                        "0x0000000000000000000000008464135c8f25da09e49bc8782676a84730c318bc",
                    ],
                    "data": ("0x0000000000000000000000000000000000000000000000000de0b6b3a7640000"),
                    "position": "0x0",
                    "index": "0x0",
                },
            ],
            "value": "0xde0b6b3a7640000",
            "type": "CALL",
        },
        {
            "from": "0x8464135c8f25da09e49bc8782676a84730c318bc",
            "gas": "0x2c33d5",
            "gasUsed": "0x146da",
            "to": "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
            "input": "0x3ccfd60b",
            "calls": [
                {
                    "from": "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
                    "gas": "0x2b679c",
                    "gasUsed": "0x1243a",
                    "to": "0x8464135c8f25da09e49bc8782676a84730c318bc",
                    "input": "0x",
                    "calls": [
                        {
                            "from": "0x8464135c8f25da09e49bc8782676a84730c318bc",
                            "gas": "0x2a5dd3",
                            "gasUsed": "0x2905",
                            "to": "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
                            "input": "0x3ccfd60b",
                            "calls": [
                                {
                                    "from": "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
                                    "gas": "0x2998f2",
                                    "gasUsed": "0x665",
                                    "to": "0x8464135c8f25da09e49bc8782676a84730c318bc",
                                    "input": "0x",
                                    "logs": [
                                        {
                                            "address": "0x8464135c8f25da09e49bc8782676a84730c318bc",
                                            "topics": [
                                                "0xdfbd041d9e9bba4bbf53e03af27b4d38f6e4d1fa96dedd0ce334528ecc5a66f9",
                                            ],
                                            "data": (
                                                "0x"
                                                "0000000000000000000000000000000000000000000000000000000000000002"
                                            ),
                                            "position": "0x0",
                                            "index": "0x2",
                                        },
                                    ],
                                    "value": "0xde0b6b3a7640000",
                                    "type": "CALL",
                                },
                            ],
                            "logs": [
                                {
                                    "address": "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
                                    "topics": [
                                        "0x7084f5476618d8e60b11ef0d7d3f06914655adb8793e28ff7f018d4c76d505d5",
                                        "0x0000000000000000000000008464135c8f25da09e49bc8782676a84730c318bc",
                                    ],
                                    "data": (
                                        "0x"
                                        "0000000000000000000000000000000000000000000000000de0b6b3a7640000"
                                    ),
                                    "position": "0x1",
                                    "index": "0x3",
                                },
                            ],
                            "value": "0x0",
                            "type": "CALL",
                        },
                        {
                            "from": "0x8464135c8f25da09e49bc8782676a84730c318bc",
                            "gas": "0x2a341c",
                            "gasUsed": "0x50f",
                            "to": "0x8464135c8f25da09e49bc8782676a84730c318bc",
                            "input": "0x5f13ae33",
                            "output": (
                                "0x08c379a0"
                                "0000000000000000000000000000000000000000000000000000000000000020"
                                "0000000000000000000000000000000000000000000000000000000000000004"
                                "6e6f706500000000000000000000000000000000000000000000000000000000"
                            ),
                            "error": "execution reverted",
                            "revertReason": "nope",
                            "value": "0x0",
                            "type": "CALL",
                        },
                        {
                            "from": "0x8464135c8f25da09e49bc8782676a84730c318bc",
                            "gas": "0x2a2e50",
                            "gasUsed": "0x164",
                            "to": "0x8464135c8f25da09e49bc8782676a84730c318bc",
                            "input": "0xa169ce09",
                            "output": (
                                "0x4e487b71"
                                "0000000000000000000000000000000000000000000000000000000000000011"
                            ),
                            "error": "execution reverted",
                            "revertReason": "arithmetic underflow or overflow",
                            "type": "STATICCALL",
                        },
                        {
                            "from": "0x8464135c8f25da09e49bc8782676a84730c318bc",
                            "gas": "0x2a19cd",
                            "gasUsed": "0xa67",
                            "to": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
                            "input": (
                                "0xa9059cbb"
                                "000000000000000000000000e7f1725e7734ce288f8367e1bb143e90bb3f0512"
                                "00000000000000000000000000000000000000000000000000000000004c4b40"
                            ),
                            "output": (
                                "0xdb42144d"
                                "0000000000000000000000008464135c8f25da09e49bc8782676a84730c318bc"
                                "00000000000000000000000000000000000000000000000000000000002dc6c0"
                                "00000000000000000000000000000000000000000000000000000000004c4b40"
                            ),
                            "error": "execution reverted",
                            "value": "0x0",
                            "type": "CALL",
                        },
                        {
                            "from": "0x8464135c8f25da09e49bc8782676a84730c318bc",
                            "gas": "0x2a0db9",
                            "gasUsed": "0x7474",
                            "to": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
                            "input": (
                                "0xa9059cbb"
                                "000000000000000000000000e7f1725e7734ce288f8367e1bb143e90bb3f0512"
                                "0000000000000000000000000000000000000000000000000000000000000001"
                            ),
                            "output": (
                                "0x0000000000000000000000000000000000000000000000000000000000000001"
                            ),
                            "logs": [
                                {
                                    "address": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
                                    "topics": [
                                        "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef",
                                        "0x0000000000000000000000008464135c8f25da09e49bc8782676a84730c318bc",
                                        "0x000000000000000000000000e7f1725e7734ce288f8367e1bb143e90bb3f0512",
                                    ],
                                    "data": (
                                        "0x"
                                        "0000000000000000000000000000000000000000000000000000000000000001"
                                    ),
                                    "position": "0x0",
                                    "index": "0x5",
                                },
                            ],
                            "value": "0x0",
                            "type": "CALL",
                        },
                    ],
                    "logs": [
                        {
                            "address": "0x8464135c8f25da09e49bc8782676a84730c318bc",
                            "topics": [
                                "0xdfbd041d9e9bba4bbf53e03af27b4d38f6e4d1fa96dedd0ce334528ecc5a66f9",
                            ],
                            "data": (
                                "0x0000000000000000000000000000000000000000000000000000000000000001"
                            ),
                            "position": "0x0",
                            "index": "0x1",
                        },
                    ],
                    "value": "0xde0b6b3a7640000",
                    "type": "CALL",
                },
            ],
            "logs": [
                {
                    "address": "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
                    "topics": [
                        "0x7084f5476618d8e60b11ef0d7d3f06914655adb8793e28ff7f018d4c76d505d5",
                        "0x0000000000000000000000008464135c8f25da09e49bc8782676a84730c318bc",
                    ],
                    "data": ("0x0000000000000000000000000000000000000000000000000de0b6b3a7640000"),
                    "position": "0x1",
                    "index": "0x6",
                },
            ],
            "value": "0x0",
            "type": "CALL",
        },
        {
            "from": "0x8464135c8f25da09e49bc8782676a84730c318bc",
            "gas": "0x2a7608",
            "gasUsed": "0x34d0",
            "to": "0x8398bcd4f633c72939f9043db78c574a91c99c0a",
            "input": (
                "0x"
                "6080604052348015600e575f5ffd5b506040513381527fade1e81d532eab1cc3"
                "37cd4f4c32e6cae7bde82c3c7303c535f9b6c13e23a5d4906020016040518091"
                "0390a1603e80604d5f395ff3fe60806040525f5ffdfea2646970667358221220"
                "f2ba9e9b952a4babeb3e99e459096d0ce6ed88428d6afb611172badb798dbee2"
                "64736f6c63430008250033"
            ),
            "output": (
                "0x"
                "60806040525f5ffdfea2646970667358221220f2ba9e9b952a4babeb3e99e459"
                "096d0ce6ed88428d6afb611172badb798dbee264736f6c63430008250033"
            ),
            "logs": [
                {
                    "address": "0x8398bcd4f633c72939f9043db78c574a91c99c0a",
                    "topics": [
                        "0xade1e81d532eab1cc337cd4f4c32e6cae7bde82c3c7303c535f9b6c13e23a5d4",
                    ],
                    "data": ("0x0000000000000000000000008464135c8f25da09e49bc8782676a84730c318bc"),
                    "position": "0x0",
                    "index": "0x7",
                },
            ],
            "value": "0x0",
            "type": "CREATE",
        },
    ],
    "value": "0xde0b6b3a7640000",
    "type": "CALL",
}

RECEIPT_LOGS: list[dict[str, Any]] = [
    {
        "address": "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
        "topics": [
            "0x2da466a7b24304f47e87fa2e1e5a81b9831ce54fec19055ce277ca2f39ba42c4",
            "0x0000000000000000000000008464135c8f25da09e49bc8782676a84730c318bc",
        ],
        "data": ("0x0000000000000000000000000000000000000000000000000de0b6b3a7640000"),
        "logIndex": "0x0",
    },
    {
        "address": "0x8464135c8f25da09e49bc8782676a84730c318bc",
        "topics": [
            "0xdfbd041d9e9bba4bbf53e03af27b4d38f6e4d1fa96dedd0ce334528ecc5a66f9",
        ],
        "data": ("0x0000000000000000000000000000000000000000000000000000000000000001"),
        "logIndex": "0x1",
    },
    {
        "address": "0x8464135c8f25da09e49bc8782676a84730c318bc",
        "topics": [
            "0xdfbd041d9e9bba4bbf53e03af27b4d38f6e4d1fa96dedd0ce334528ecc5a66f9",
        ],
        "data": ("0x0000000000000000000000000000000000000000000000000000000000000002"),
        "logIndex": "0x2",
    },
    {
        "address": "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
        "topics": [
            "0x7084f5476618d8e60b11ef0d7d3f06914655adb8793e28ff7f018d4c76d505d5",
            "0x0000000000000000000000008464135c8f25da09e49bc8782676a84730c318bc",
        ],
        "data": ("0x0000000000000000000000000000000000000000000000000de0b6b3a7640000"),
        "logIndex": "0x3",
    },
    {
        "address": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
        "topics": [
            "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef",
            "0x0000000000000000000000008464135c8f25da09e49bc8782676a84730c318bc",
            "0x000000000000000000000000e7f1725e7734ce288f8367e1bb143e90bb3f0512",
        ],
        "data": ("0x0000000000000000000000000000000000000000000000000000000000000001"),
        "logIndex": "0x4",
    },
    {
        "address": "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
        "topics": [
            "0x7084f5476618d8e60b11ef0d7d3f06914655adb8793e28ff7f018d4c76d505d5",
            "0x0000000000000000000000008464135c8f25da09e49bc8782676a84730c318bc",
        ],
        "data": ("0x0000000000000000000000000000000000000000000000000de0b6b3a7640000"),
        "logIndex": "0x5",
    },
    {
        "address": "0x8398bcd4f633c72939f9043db78c574a91c99c0a",
        "topics": [
            "0xade1e81d532eab1cc337cd4f4c32e6cae7bde82c3c7303c535f9b6c13e23a5d4",
        ],
        "data": ("0x0000000000000000000000008464135c8f25da09e49bc8782676a84730c318bc"),
        "logIndex": "0x6",
    },
]

PRESTATE_DIFF: dict[str, Any] = {
    "pre": {
        "0x0000000000000000000000000000000000000000": {
            "balance": "0x3b9ea17a05000",
        },
        "0x5fbdb2315678afecb367f032d93f642f64180aa3": {
            "balance": "0x0",
            "nonce": 1,
        },
        "0x70997970c51812dc3a010c7d01b50e0d17dc79c8": {
            "balance": "0x21e19de0c9b933c0480",
            "nonce": 1,
        },
        "0x8464135c8f25da09e49bc8782676a84730c318bc": {
            "balance": "0x0",
            "nonce": 1,
        },
        "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512": {
            "balance": "0x4563918244f40000",
            "nonce": 1,
        },
    },
    "post": {
        "0x0000000000000000000000000000000000000000": {
            "balance": "0x45195a100be00",
        },
        "0x5fbdb2315678afecb367f032d93f642f64180aa3": {},
        "0x70997970c51812dc3a010c7d01b50e0d17dc79c8": {
            "balance": "0x21e0bfc6fa9c5db8399",
            "nonce": 2,
        },
        "0x8398bcd4f633c72939f9043db78c574a91c99c0a": {
            "nonce": 1,
        },
        "0x8464135c8f25da09e49bc8782676a84730c318bc": {
            "balance": "0x1bc16d674ec80000",
            "nonce": 2,
        },
        "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512": {
            "balance": "0x3782dace9d900000",
        },
    },
}


@pytest.fixture(scope="module")
def trace() -> CallFrame:
    decoder = Decoder()
    decoder.register_signatures(SCENARIO_SIGNATURES)
    return normalize_call_trace(CALL_TRACE, decoder, RECEIPT_LOGS)


def test_log_indexes_come_from_the_receipt(trace: CallFrame) -> None:
    logs = [(log.index, log.event.name if log.event else None) for log in trace.all_logs()]
    assert logs == [
        (0, "Deposited"),
        (1, "Hit"),
        (2, "Hit"),
        (3, "Withdrawn"),
        (4, "Transfer"),
        (5, "Withdrawn"),
        (6, "Born"),
    ]


def test_frames_are_normalized(trace: CallFrame) -> None:
    assert trace.from_ == EOA
    assert trace.to == ATTACKER
    assert (trace.value, trace.gas, trace.gas_used) == (10**18, 0x2D7478, 0x28B6B)
    assert trace.decoded is not None
    assert trace.decoded.signature == "attack()"
    receive = trace.calls[1].calls[0]
    failures = [(frame.type, frame.error, frame.revert_reason) for frame in receive.calls[1:4]]
    assert failures == [
        ("CALL", "execution reverted", "nope"),
        ("STATICCALL", "execution reverted", "panic: arithmetic underflow or overflow (0x11)"),
        (
            "CALL",
            "execution reverted",
            f"InsufficientBalance(account={ATTACKER}, balance=3000000, needed=5000000)",
        ),
    ]
    create = trace.calls[2]
    assert (create.type, create.to, create.decoded) == ("CREATE", HELPER, None)


def test_render_matches_cast_style(trace: CallFrame) -> None:
    assert render_trace_plain(trace, labels=LABELS) == EXPECTED_TREE


EXPECTED_TREE = """\
Traces:
  [166763] Attacker::attack{value: 1 ETH}()
    ├─ [23849] Bank::deposit{value: 1 ETH}()
    │   ├─ emit Deposited(user: Attacker: [0x8464135c8F25Da09e49BC8782676a84730C318bC], \
amount: 1000000000000000000 [1e18])
    │   └─ ← [Stop]
    ├─ [83674] Bank::withdraw()
    │   ├─ [74810] Attacker::receive{value: 1 ETH}()
    │   │   ├─ emit Hit(n: 1)
    │   │   ├─ [10501] Bank::withdraw()
    │   │   │   ├─ [1637] Attacker::receive{value: 1 ETH}()
    │   │   │   │   ├─ emit Hit(n: 2)
    │   │   │   │   └─ ← [Stop]
    │   │   │   ├─ emit Withdrawn(user: Attacker: [0x8464135c8F25Da09e49BC8782676a84730C318bC], \
amount: 1000000000000000000 [1e18])
    │   │   │   └─ ← [Stop]
    │   │   ├─ [1295] Attacker::noisy()
    │   │   │   └─ ← [Revert] nope
    │   │   ├─ [356] Attacker::boom() [staticcall]
    │   │   │   └─ ← [Revert] panic: arithmetic underflow or overflow (0x11)
    │   │   ├─ [2663] Token::transfer(Bank: [0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512], \
5000000 [5e6])
    │   │   │   └─ ← [Revert] InsufficientBalance(\
account=0x8464135c8F25Da09e49BC8782676a84730C318bC, balance=3000000, needed=5000000)
    │   │   ├─ [29812] Token::transfer(Bank: [0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512], 1)
    │   │   │   ├─ emit Transfer(from: Attacker: [0x8464135c8F25Da09e49BC8782676a84730C318bC], \
to: Bank: [0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512], value: 1)
    │   │   │   └─ ← [Return] true
    │   │   └─ ← [Stop]
    │   ├─ emit Withdrawn(user: Attacker: [0x8464135c8F25Da09e49BC8782676a84730C318bC], \
amount: 1000000000000000000 [1e18])
    │   └─ ← [Stop]
    ├─ [13520] → new <unknown>@0x8398bCD4f633C72939F9043dB78c574A91C99c0A
    │   ├─ emit Born(who: Attacker: [0x8464135c8F25Da09e49BC8782676a84730C318bC])
    │   └─ ← [Return] 62 bytes of code
    └─ ← [Stop]"""


def test_transfers_in_execution_order(trace: CallFrame) -> None:
    moves = [(t.standard, t.from_, t.to, t.amount, t.log_index) for t in extract_transfers(trace)]
    assert moves == [
        ("ETH", EOA, ATTACKER, 10**18, None),
        ("ETH", ATTACKER, BANK, 10**18, None),
        ("ETH", BANK, ATTACKER, 10**18, None),
        ("ETH", BANK, ATTACKER, 10**18, None),
        ("ERC20", ATTACKER, BANK, 1, 4),
    ]


def test_balance_changes_are_exact(trace: CallFrame) -> None:
    changes = balance_changes(extract_transfers(trace), normalize_prestate_diff(PRESTATE_DIFF))
    rows = [(c.address, c.asset, c.before, c.after, c.delta) for c in changes]
    gas_fee = 0x28B6B * 0x5A7B9B75
    assert gas_fee == 253_154_599_665_895
    assert rows == [
        (COINBASE, "ETH", 1_048_840_000_000_000, 1_215_603_000_000_000, 166_763_000_000_000),
        (
            EOA,
            "ETH",
            9_999_999_229_108_684_588_160,
            9_998_998_975_954_084_922_265,
            -(10**18) - gas_fee,
        ),
        (ATTACKER, "ETH", 0, 2 * 10**18, 2 * 10**18),
        (ATTACKER, TOKEN, None, None, -1),
        (BANK, "ETH", 5 * 10**18, 4 * 10**18, -(10**18)),
        (BANK, TOKEN, None, None, 1),
    ]
