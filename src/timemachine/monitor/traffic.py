"""A mempool traffic generator for a local chain with mining paused: signed transfers, swaps,
replacements (speed-up, cancel) and re-sent recorded transactions, from the caller's accounts.

It knows no scenario: the caller passes the accounts, the router and path of a swap, the raw
transaction to re-send."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_abi.abi import encode
from eth_account.signers.local import LocalAccount

from timemachine.chain.rpc import RpcClient
from timemachine.hexutil import quantity
from timemachine.trace.signatures import keccak_signature

GWEI = 10**9
TRANSFER_GAS = 21_000
CALL_GAS = 500_000
NO_DEADLINE = 2**64 - 1


def calldata(signature: str, types: Sequence[str], values: Sequence[Any]) -> bytes:
    """`signature`'s selector followed by the ABI encoding of `values`."""
    return bytes.fromhex(keccak_signature(signature)[2:10]) + encode(list(types), list(values))


@dataclass
class Traffic:
    """Sends signed transactions to one node's pool."""

    rpc: RpcClient
    chain_id: int
    fee: int = 50 * GWEI
    tip: int = 1 * GWEI
    sent: list[str] = field(default_factory=list)
    _nonces: dict[str, int] = field(default_factory=dict)

    async def nonce(self, account: LocalAccount) -> int:
        """The account's next nonce (the node's pending count, then counted locally)."""
        if account.address not in self._nonces:
            count = await self.rpc.call("eth_getTransactionCount", [account.address, "pending"])
            self._nonces[account.address] = quantity(count) or 0
        return self._nonces[account.address]

    async def send(
        self,
        account: LocalAccount,
        to: str | None,
        *,
        value: int = 0,
        data: bytes = b"",
        gas: int = TRANSFER_GAS,
        nonce: int | None = None,
        fee: int | None = None,
        tip: int | None = None,
    ) -> str:
        """Sign and send; the node's hash. A given `nonce` replaces what that slot holds."""
        next_nonce = await self.nonce(account)
        used = next_nonce if nonce is None else nonce
        tx: dict[str, Any] = {
            "type": 2,
            "chainId": self.chain_id,
            "nonce": used,
            "to": to or b"",
            "value": value,
            "data": data,
            "gas": gas,
            "maxFeePerGas": fee or self.fee,
            "maxPriorityFeePerGas": tip or self.tip,
            "accessList": [],
        }
        signed = account.sign_transaction(tx)
        tx_hash = await self.send_raw("0x" + bytes(signed.raw_transaction).hex())
        self._nonces[account.address] = max(next_nonce, used + 1)
        return tx_hash

    async def send_raw(self, raw: str) -> str:
        tx_hash = str(await self.rpc.call("eth_sendRawTransaction", [raw])).lower()
        self.sent.append(tx_hash)
        return tx_hash

    async def transfer(self, account: LocalAccount, to: str, value: int, **fees: Any) -> str:
        return await self.send(account, to, value=value, **fees)

    async def cancel(self, account: LocalAccount, nonce: int, *, fee: int, tip: int) -> str:
        """Replace the tx at `nonce` with a 0-value transfer to oneself."""
        return await self.send(account, account.address, nonce=nonce, fee=fee, tip=tip)

    async def swap(
        self,
        account: LocalAccount,
        router: str,
        path: Sequence[str],
        amount_in: int,
        *,
        min_out: int = 0,
        **fees: Any,
    ) -> str:
        """A Uniswap V2 `swapExactTokensForTokens` through `router` (approval given), with no
        deadline to speak of."""
        data = calldata(
            "swapExactTokensForTokens(uint256,uint256,address[],address,uint256)",
            ["uint256", "uint256", "address[]", "address", "uint256"],
            [amount_in, min_out, list(path), account.address, NO_DEADLINE],
        )
        return await self.send(account, router, data=data, gas=CALL_GAS, **fees)

    async def approve(self, account: LocalAccount, token: str, spender: str, amount: int) -> str:
        data = calldata("approve(address,uint256)", ["address", "uint256"], [spender, amount])
        return await self.send(account, token, data=data, gas=CALL_GAS)

    async def sandwich(
        self,
        searcher: LocalAccount,
        victim: LocalAccount,
        router: str,
        path: Sequence[str],
        *,
        front: int,
        victim_amount: int,
        back: int,
    ) -> list[str]:
        """A sandwich attempt: the searcher buys ahead of the victim's swap (higher tip) and
        sells right after it (lower tip), in the order a fee-priority builder would mine them."""
        tip = self.tip
        return [
            await self.swap(searcher, router, path, front, tip=tip * 3),
            await self.swap(victim, router, path, victim_amount, tip=tip * 2),
            await self.swap(searcher, router, list(reversed(path)), back, tip=tip),
        ]
