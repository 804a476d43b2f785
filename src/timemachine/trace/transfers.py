"""Value movements of a transaction: native ETH from call frames, tokens from logs.

Order: one walk of the tree in execution order. A frame's ETH moves when the frame is entered
(before anything it emits or calls), and its logs take their emission position among its child
calls (see `order.EmissionOrder`), so token transfers come out in log-index order with ETH
transfers at the point of the call that moved them.

Frames that reverted, or whose ancestor reverted, moved nothing: they and their logs are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator

from timemachine.hexutil import ZERO_ADDRESS, checksum
from timemachine.models import CallFrame, LogEntry, TokenTransfer
from timemachine.trace.order import EmissionOrder
from timemachine.trace.signatures import keccak_signature

TRANSFER_TOPIC = keccak_signature("Transfer(address,address,uint256)")
DEPOSIT_TOPIC = keccak_signature("Deposit(address,uint256)")
WITHDRAWAL_TOPIC = keccak_signature("Withdrawal(address,uint256)")

_VALUE_MOVING = frozenset({"CALL", "CREATE", "CREATE2", "SELFDESTRUCT"})
"""DELEGATECALL and STATICCALL move no value; CALLCODE sends it to the caller itself."""


def _topic_address(topic: str) -> str | None:
    digits = topic[2:] if topic.startswith("0x") else topic
    if len(digits) != 64 or digits[:24].strip("0"):
        return None
    return checksum("0x" + digits[24:])


def _word(hex_data: str) -> int | None:
    digits = hex_data[2:] if hex_data.startswith("0x") else hex_data
    if len(digits) != 64:
        return None
    try:
        return int(digits, 16)
    except ValueError:
        return None


def _walk(trace: CallFrame) -> Iterator[tuple[CallFrame | LogEntry, CallFrame, int]]:
    """Successful frames (at entry) and their logs, in execution order.

    Yields (item, frame that owns it, msg.value of that frame's context).
    """
    order = EmissionOrder(trace)
    if trace.error:
        return
    yield trace, trace, trace.value
    stack = [(trace, trace.value, iter(order.items(trace)))]
    while stack:
        frame, context_value, items = stack[-1]
        item = next(items, None)
        if item is None:
            stack.pop()
        elif isinstance(item, LogEntry):
            yield item, frame, context_value
        elif not item.error:
            value = context_value if item.type == "DELEGATECALL" else item.value
            yield item, item, value
            stack.append((item, value, iter(order.items(item))))


def _sends(frame: CallFrame, sender: str, recipient: str, amount: int) -> bool:
    """Whether `frame`'s subtree has a successful CALL moving `amount` from sender to recipient."""
    stack = list(frame.calls)
    while stack:
        call = stack.pop()
        if call.error:
            continue
        if (
            call.type == "CALL"
            and call.value == amount
            and call.from_.lower() == sender.lower()
            and (call.to or "").lower() == recipient.lower()
        ):
            return True
        stack.extend(call.calls)
    return False


def _from_log(log: LogEntry, frame: CallFrame, context_value: int) -> TokenTransfer | None:
    topics = [topic.lower() for topic in log.topics]
    if not topics:
        return None
    topic0 = topics[0]
    if topic0 == TRANSFER_TOPIC and len(topics) == 3:
        sender, recipient, amount = (
            _topic_address(topics[1]),
            _topic_address(topics[2]),
            _word(log.data),
        )
        if sender is None or recipient is None or amount is None:
            return None
        return _token("ERC20", log, sender, recipient, amount)
    if topic0 == TRANSFER_TOPIC and len(topics) == 4:
        sender, recipient = _topic_address(topics[1]), _topic_address(topics[2])
        token_id = _word(topics[3])
        if sender is None or recipient is None or token_id is None or log.data not in ("0x", ""):
            return None
        return _token("ERC721", log, sender, recipient, 1, token_id=token_id)
    if topic0 in (DEPOSIT_TOPIC, WITHDRAWAL_TOPIC) and len(topics) == 2:
        holder, amount = _topic_address(topics[1]), _word(log.data)
        if holder is None or amount is None:
            return None
        if topic0 == DEPOSIT_TOPIC and context_value == amount:
            return _token("WETH", log, ZERO_ADDRESS, holder, amount)
        if topic0 == WITHDRAWAL_TOPIC and _sends(frame, log.address, holder, amount):
            return _token("WETH", log, holder, ZERO_ADDRESS, amount)
    return None


def _token(
    standard: str,
    log: LogEntry,
    sender: str,
    recipient: str,
    amount: int,
    *,
    token_id: int | None = None,
) -> TokenTransfer:
    return TokenTransfer.model_validate(
        {
            "standard": standard,
            "token": log.address,
            "from": sender,
            "to": recipient,
            "amount": amount,
            "token_id": token_id,
            "log_index": log.index,
        }
    )


def extract_transfers(trace: CallFrame) -> list[TokenTransfer]:
    """ETH, ERC-20, ERC-721 and WETH deposit/withdrawal movements, in execution order.

    ETH: every successful CALL/CREATE/CREATE2/SELFDESTRUCT frame with value > 0, the top-level
    call included. ERC-20: `Transfer` with 3 topics; ERC-721: `Transfer` with 4 (tokenId indexed,
    amount 1). WETH: `Deposit(dst, wad)` is a mint from 0x0 when the emitting frame received
    exactly `wad` wei, and `Withdrawal(src, wad)` a burn to 0x0 when the emitting frame sent `wad`
    wei to `src` - the checks keep look-alike `Deposit(address,uint256)` events of vaults out.
    """
    transfers: list[TokenTransfer] = []
    for item, frame, context_value in _walk(trace):
        if isinstance(item, LogEntry):
            transfer = _from_log(item, frame, context_value)
            if transfer is not None:
                transfers.append(transfer)
        elif item.type in _VALUE_MOVING and item.value > 0 and item.to:
            transfers.append(
                TokenTransfer.model_validate(
                    {
                        "standard": "ETH",
                        "from": item.from_,
                        "to": item.to,
                        "amount": item.value,
                        "symbol": "ETH",
                        "decimals": 18,
                    }
                )
            )
    return transfers
