"""Reentrancy forms on hand-built call trees: callback hook (an NFT mint cap bypassed through
onERC721Received), read-only (a lender reading a pool's view mid-update), cross-contract, and an
invited callback that is no re-entry."""

from __future__ import annotations

from tests.unit.analysis_trees import ATTACKER, EOA, ETHER, OTHER, VICTIM, call, eth, result
from timemachine.analysis import analyze, reentrancy
from timemachine.analysis.report import render_markdown
from timemachine.analysis.report_html import render_html
from timemachine.analysis.token_moves import TRANSFER_TOPIC
from timemachine.models import AccountState, LogEntry, TokenTransfer
from timemachine.models.analysis import Amount
from timemachine.models.taxonomy import VulnerabilityClass
from timemachine.models.trace import CallFrame

MINT = "0x1249c58b"
ON_ERC721_RECEIVED = "0x150b7a02"
REMOVE_LIQUIDITY = "0x1a4d01d2"
VIRTUAL_PRICE = "0xbb7b8b80"
BORROW = "0xc5ebeaec"
SWAP_CALLBACK = "0xfa461e33"
POOL = "0x00000000000000000000000000000000000000d1"
LENDER = "0x00000000000000000000000000000000000000f1"


def topic(address: str) -> str:
    return "0x" + address[2:].rjust(64, "0")


def minted(token: str, to: str, token_id: int) -> LogEntry:
    """An ERC-721 Transfer(0, to, id) log (the id is the 4th topic)."""
    return LogEntry(
        address=token,
        topics=[TRANSFER_TOPIC, topic("0x" + "0" * 40), topic(to), f"0x{token_id:064x}"],
        data="0x",
        position=0,
    )


def mint(depth: int) -> CallFrame:
    """ATTACKER calls VICTIM.mint(); VICTIM mints one id, then calls the receiver hook, which
    mints again (`depth` more times) before the per-account cap is written."""
    hook_calls = [mint(depth - 1)] if depth else []
    hook = call(VICTIM, ATTACKER, ON_ERC721_RECEIVED, calls=hook_calls)
    frame = call(ATTACKER, VICTIM, MINT, name="mint", calls=[hook])
    frame.logs = [minted(VICTIM, ATTACKER, depth + 1)]
    return frame


def test_a_mint_cap_bypassed_through_the_receiver_hook_is_callback_reentrancy() -> None:
    root = call(EOA, ATTACKER, "0x9e5faafc", calls=[mint(2)])
    nfts = [
        TokenTransfer.model_validate(
            {
                "standard": "ERC721",
                "token": VICTIM,
                "from": "0x" + "0" * 40,
                "to": ATTACKER,
                "amount": 1,
                "token_id": token_id,
            }
        )
        for token_id in (3, 2, 1)
    ]
    [finding] = reentrancy.detect(result(root, transfers=nfts))
    assert finding.vulnerability_class is VulnerabilityClass.REENTRANCY
    assert (finding.severity, finding.evidence.form) == ("high", "callback_hook")
    assert finding.title == f"Single-function reentrancy into {VICTIM}"
    assert finding.evidence.frames == [
        "calls[0]",
        "calls[0].calls[0].calls[0]",
        "calls[0].calls[0].calls[0].calls[0].calls[0]",
    ]
    assert finding.evidence.signals[-2:] == [
        "control was handed over through the onERC721Received callback",
        "2 token(s) minted or sent by it inside the nested entries: a limit checked before the "
        "callback (cap, supply, per-account) did not hold",
    ]


def test_a_receiver_hook_forwarding_the_token_it_received_breaks_no_limit() -> None:
    """The hook passes its freshly claimed NFT on (a call back into VICTIM mid-mint): the only
    Transfer in the nested entry moves the re-entering side's own token."""
    forward = call(ATTACKER, VICTIM, "0x23b872dd", name="transferFrom")
    forward.logs = [
        LogEntry(
            address=VICTIM,
            topics=[TRANSFER_TOPIC, topic(ATTACKER), topic(EOA), f"0x{1:064x}"],
            data="0x",
            position=1,
        )
    ]
    hook = call(VICTIM, ATTACKER, ON_ERC721_RECEIVED, calls=[forward])
    claim = call(ATTACKER, VICTIM, MINT, name="mint", calls=[hook])
    claim.logs = [minted(VICTIM, ATTACKER, 1)]
    root = call(EOA, ATTACKER, "0x9e5faafc", calls=[claim])
    moves = [
        TokenTransfer.model_validate(
            {"standard": "ERC721", "token": VICTIM, "from": source, "to": target, "amount": 1}
            | {"token_id": 1}
        )
        for source, target in (("0x" + "0" * 40, ATTACKER), (ATTACKER, EOA))
    ]
    assert reentrancy.detect(result(root, transfers=moves)) == []


def read_only(*, lender_pays: bool = True) -> CallFrame:
    """POOL.remove_liquidity sends ETH to ATTACKER mid-update; ATTACKER borrows from LENDER,
    which prices the collateral with POOL's view and pays out; POOL then finishes (logs)."""
    payout = [call(LENDER, ATTACKER, value=5 * ETHER)] if lender_pays else []
    view = call(LENDER, POOL, VIRTUAL_PRICE, kind="STATICCALL")
    borrow = call(ATTACKER, LENDER, BORROW, calls=[view, *payout])
    handoff = call(POOL, ATTACKER, value=ETHER, calls=[borrow])
    remove = call(ATTACKER, POOL, REMOVE_LIQUIDITY, calls=[handoff])
    remove.logs = [LogEntry(address=POOL, topics=["0x" + "11" * 32], data="0x", position=1)]
    return call(EOA, ATTACKER, "0x9e5faafc", calls=[remove])


def test_a_lender_acting_on_a_view_read_mid_update_is_read_only_reentrancy() -> None:
    replay = result(
        read_only(),
        changes={LENDER: (20 * ETHER, 15 * ETHER), POOL: (100 * ETHER, 99 * ETHER)},
        transfers=[eth(POOL, ATTACKER, ETHER), eth(LENDER, ATTACKER, 5 * ETHER)],
        storage={POOL: ({"0x1": "0x64"}, {"0x1": "0x63"})},
    )
    [finding] = reentrancy.detect(replay)
    assert finding.evidence.form == "read_only_reentrancy"
    assert finding.vulnerability_class is VulnerabilityClass.REENTRANCY
    assert finding.title == f"Read-only reentrancy: {LENDER} acted on {POOL} mid-update"
    assert finding.severity == "medium"  # the lender lost 5 of its 20 ETH (25%)
    assert finding.evidence.frames == [
        "calls[0]",
        "calls[0].calls[0].calls[0].calls[0]",
        "calls[0].calls[0].calls[0]",
    ]
    assert finding.evidence.amounts == [
        Amount(address=LENDER, asset="ETH", amount=5 * ETHER),
        Amount(address=ATTACKER, asset="ETH", amount=5 * ETHER),
    ]


def test_a_view_read_mid_update_nobody_acts_on_is_not_reported() -> None:
    replay = result(
        read_only(lender_pays=False), storage={POOL: ({"0x1": "0x64"}, {"0x1": "0x63"})}
    )
    assert reentrancy.detect(replay) == []


def test_a_view_read_while_the_pool_changed_no_storage_is_not_reported() -> None:
    replay = result(read_only(), changes={LENDER: (20 * ETHER, 15 * ETHER)})
    replay.state_diff.post[POOL] = AccountState()
    assert reentrancy.detect(replay) == []


def test_a_callback_the_contract_invited_is_no_reentry() -> None:
    """A router's swap callback, called back by the pool the router called, pays the pool."""
    pay = call(VICTIM, OTHER, "0x23b872dd")
    callback = call(POOL, VICTIM, SWAP_CALLBACK, calls=[pay])
    swap = call(VICTIM, POOL, "0x128acb08", calls=[call(POOL, ATTACKER, value=ETHER), callback])
    root = call(EOA, VICTIM, "0x414bf389", value=ETHER, calls=[swap])
    replay = result(root, changes={VICTIM: (ETHER, 0)}, transfers=[eth(POOL, ATTACKER, ETHER)])
    assert reentrancy.detect(replay) == []


def test_a_related_contract_drained_while_the_pool_was_mid_update_is_cross_contract() -> None:
    """VAULT prices its shares with POOL; while POOL hands ETH over mid-update, ATTACKER redeems
    from VAULT, which pays out everything it held."""
    vault = "0x00000000000000000000000000000000000000f7"
    quote = call(vault, POOL, VIRTUAL_PRICE, kind="STATICCALL")
    deposit = call(ATTACKER, vault, "0xd0e30db0", calls=[quote])
    redeem = call(ATTACKER, vault, "0xdb006a75", calls=[call(vault, ATTACKER, value=10 * ETHER)])
    handoff = call(POOL, ATTACKER, value=ETHER, calls=[redeem])
    remove = call(ATTACKER, POOL, REMOVE_LIQUIDITY, calls=[handoff])
    remove.logs = [LogEntry(address=POOL, topics=["0x" + "11" * 32], data="0x", position=1)]
    root = call(EOA, ATTACKER, "0x9e5faafc", calls=[deposit, remove])
    replay = result(
        root,
        changes={vault: (10 * ETHER, 0), POOL: (100 * ETHER, 99 * ETHER)},
        transfers=[eth(POOL, ATTACKER, ETHER), eth(vault, ATTACKER, 10 * ETHER)],
        storage={POOL: ({"0x1": "0x64"}, {"0x1": "0x63"})},
    )
    [finding] = reentrancy.detect(replay)
    assert (finding.evidence.form, finding.severity) == ("cross_contract", "critical")
    assert finding.title == f"Cross-contract reentrancy into {vault} while {POOL} was mid-update"
    assert finding.evidence.frames == ["calls[1]", "calls[1].calls[0].calls[0]"]


def test_reports_name_the_form() -> None:
    root = call(EOA, ATTACKER, "0x9e5faafc", calls=[mint(1)])
    nfts = [
        TokenTransfer.model_validate(
            {"standard": "ERC721", "token": VICTIM, "from": "0x" + "0" * 40, "to": ATTACKER,
             "amount": 1, "token_id": token_id}
        )
        for token_id in (2, 1)
    ]  # fmt: skip
    replay = result(root, transfers=nfts)
    report = analyze(replay)
    assert "- Form: callback_hook" in render_markdown(report)
    assert "<li>Form: callback_hook</li>" in render_html(report, replay)
