"""The generalizing detectors on small contracts of their own (tests/integration/contracts) on a
fresh anvil: a treasury swept by a caller with no role, the same sweep by its owner, and a
one-per-account NFT mint cap bypassed through the receiver hook."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from eth_abi.abi import encode

from timemachine.chain.rpc import RpcClient
from timemachine.forks.process import AnvilProcess
from timemachine.machine import TimeMachine
from timemachine.models.analysis import severity_rank
from timemachine.models.taxonomy import VulnerabilityClass
from timemachine.solidity import compile_file
from timemachine.trace.signatures import keccak_signature

pytestmark = pytest.mark.integration

SOURCE = Path(__file__).parent / "contracts" / "GeneralizedExploits.sol"
OWNER = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
STRANGER = "0x70997970c51812dc3a010c7d01b50e0d4e69dc8f"


def selector(signature: str) -> str:
    return keccak_signature(signature)[:10]


class Chain:
    def __init__(self, rpc: RpcClient) -> None:
        self.rpc = rpc

    async def send(self, sender: str, data: str, to: str | None = None, value: int = 0) -> Any:
        tx: dict[str, str] = {"from": sender, "data": data, "value": hex(value)}
        if to is not None:
            tx["to"] = to
        tx_hash = await self.rpc.call("eth_sendTransaction", [tx])
        await self.rpc.call("evm_mine", [])  # mining on demand: the receipt exists on return
        receipt = await self.rpc.call("eth_getTransactionReceipt", [tx_hash])
        assert receipt["status"] == "0x1"
        return receipt

    async def deploy(self, name: str, args: bytes = b"", value: int = 0) -> str:
        code = compile_file(SOURCE, name).bytecode
        receipt = await self.send(OWNER, "0x" + code.removeprefix("0x") + args.hex(), value=value)
        return str(receipt["contractAddress"]).lower()


@pytest.fixture
async def chain(anvil_binary: Path) -> AsyncIterator[tuple[str, Chain]]:
    process = await AnvilProcess.start(anvil_binary, ["--silent", "--no-mining"])
    try:
        async with RpcClient(process.url) as rpc:
            await rpc.call("anvil_setBalance", [STRANGER, hex(100 * 10**18)])
            await rpc.call("anvil_impersonateAccount", [STRANGER])
            yield process.url, Chain(rpc)
    finally:
        process.stop()


def call_with_address(signature: str, address: str) -> str:
    return selector(signature) + encode(["address"], [address]).hex()


async def test_a_treasury_swept_by_a_caller_with_no_role(chain: tuple[str, Chain]) -> None:
    url, node = chain
    treasury = await node.deploy("Treasury", value=10 * 10**18)
    receipt = await node.send(STRANGER, call_with_address("sweep(address)", STRANGER), treasury)
    async with TimeMachine(url) as machine:
        report = await machine.analyze(receipt["transactionHash"])
    top = report.top
    assert top is not None
    assert (top.detector, top.vulnerability_class, top.severity) == (
        "missing_access_control",
        VulnerabilityClass.MISSING_ACCESS_CONTROL,
        "critical",
    )
    assert top.evidence.addresses == [treasury, STRANGER]
    assert top.evidence.signals[0] == "paid out value the caller never deposited"
    # The sweep it explains follows as value extraction, referencing it.
    assert [f.detector for f in report.findings] == ["missing_access_control", "value_extraction"]


async def test_an_owner_sweep_looks_like_a_strangers_without_storage_reads(
    chain: tuple[str, Chain],
) -> None:
    """The documented blind spot: the owner slot is read, not written, so the diff-mode state
    diff omits it and the owner's own sweep looks like a stranger's. It is reported as missing
    access control, with the value extraction it explains, and nothing else."""
    url, node = chain
    treasury = await node.deploy("Treasury", value=10 * 10**18)
    receipt = await node.send(OWNER, call_with_address("ownerSweep(address)", OWNER), treasury)
    async with TimeMachine(url) as machine:
        report = await machine.analyze(receipt["transactionHash"])
    assert {f.detector for f in report.findings} == {"missing_access_control", "value_extraction"}


async def test_a_mint_cap_bypassed_through_the_receiver_hook(chain: tuple[str, Chain]) -> None:
    url, node = chain
    nft = await node.deploy("CappedNft")
    minter = await node.deploy("HookMinter", encode(["address"], [nft]))
    attack = selector("attack(uint256)") + encode(["uint256"], [3]).hex()
    receipt = await node.send(STRANGER, attack, minter)
    async with TimeMachine(url) as machine:
        report = await machine.analyze(receipt["transactionHash"])
    top = report.top
    assert top is not None
    assert (top.vulnerability_class, top.severity, top.evidence.form) == (
        VulnerabilityClass.REENTRANCY,
        "high",
        "callback_hook",
    )
    assert top.evidence.addresses == [nft]
    assert "control was handed over through the onERC721Received callback" in top.evidence.signals
    assert [f for f in report.findings if severity_rank(f.severity) < severity_rank("high")] == []


async def test_a_lender_pricing_with_a_pool_view_read_mid_update(chain: tuple[str, Chain]) -> None:
    url, node = chain
    pool = await node.deploy("SharePool")
    await node.send(OWNER, selector("deposit()"), pool, value=10 * 10**18)
    lender = await node.deploy("ShareLender", encode(["address"], [pool]), value=10 * 10**18)
    borrower = await node.deploy("ReadOnlyBorrower", encode(["address", "address"], [pool, lender]))
    receipt = await node.send(STRANGER, selector("attack()"), borrower, value=10 * 10**18)
    async with TimeMachine(url) as machine:
        report = await machine.analyze(receipt["transactionHash"])
    top = report.top
    assert top is not None
    assert (top.vulnerability_class, top.evidence.form) == (
        VulnerabilityClass.REENTRANCY,
        "read_only_reentrancy",
    )
    assert top.title == f"Read-only reentrancy: {lender} acted on {pool} mid-update"
    assert top.evidence.addresses == [lender, pool]
    # 1 share left, priced at 20/11 mid-update (not 11/11) and lent 4x: 7.27 of the lender's 10 ETH
    assert report.profit.loss("ETH") == 4 * (10**18 * 20 * 10**18 // (11 * 10**18))
    assert top.severity == "high"


async def test_an_own_capital_pump_of_an_event_less_pool_read_by_a_lender(
    chain: tuple[str, Chain],
) -> None:
    url, node = chain
    supply = encode(["uint256"], [10**6])
    base, quote = await node.deploy("PlainToken", supply), await node.deploy("PlainToken", supply)
    pool = await node.deploy("BalancePool", encode(["address", "address"], [base, quote]))
    lender = await node.deploy("SpotLender", encode(["address"], [pool]))
    pumper = await node.deploy("SpotPumper")
    give = "transfer(address,uint256)"
    for token, to, amount in [
        (base, pool, 1_000),
        (quote, pool, 1_000),
        (quote, lender, 1_000),
        (quote, pumper, 3_000),
    ]:
        await node.send(
            OWNER, selector(give) + encode(["address", "uint256"], [to, amount]).hex(), token
        )
    attack = (
        selector("attack(address,address,uint256,uint256)")
        + encode(["address", "address", "uint256", "uint256"], [pool, lender, 1_000, 100]).hex()
    )
    receipt = await node.send(STRANGER, attack, pumper)
    async with TimeMachine(url) as machine:
        report = await machine.analyze(receipt["transactionHash"])
    top = report.top
    assert top is not None
    assert (top.detector, top.vulnerability_class, top.severity) == (
        "price_manipulation",
        VulnerabilityClass.PRICE_MANIPULATION,
        "high",  # 400 of the lender's 1,000 quote tokens
    )
    assert top.title == f"Spot price of pool {pool} manipulated before {lender} used it"
    assert (
        top.evidence.signals[0] == f"swaps moved pool {pool}'s spot price 4.0x before it was read"
    )
    assert "a later swap in the same pool went the opposite way (swap back)" in top.evidence.signals
