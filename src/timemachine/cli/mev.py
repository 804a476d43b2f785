"""`timemachine mev inspect`: MEV in blocks (swaps, arbitrages, sandwiches, liquidations, JIT
liquidity, miner payments), from trace files or a node, as a table or mev-inspect-py-style JSON."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from timemachine.cli.errors import reported_errors, run_async
from timemachine.cli.group import command_group

if TYPE_CHECKING:
    from timemachine.mev.models import Block, BlockInspection

mev_app = command_group(
    "MEV inspection: swaps, arbitrages, sandwiches, liquidations, JIT liquidity."
)

MAX_RANGE = 10_000


def parse_range(text: str) -> tuple[int, int]:
    """`A:B` with A inclusive and B exclusive, as in cryo; decimal or 0x-hex."""
    from timemachine.errors import InvalidInputError

    first, separator, last = text.strip().partition(":")
    try:
        if not separator:
            raise ValueError(text)
        start, end = (
            int(p.strip(), 0) if p.strip().lower().startswith("0x") else int(p)
            for p in (first, last)
        )
    except ValueError:
        raise InvalidInputError(
            f"--blocks {text!r} is not a block range; write A:B (A inclusive, B exclusive), "
            "e.g. 12775690:12775691"
        ) from None
    if start < 0 or end <= start:
        raise InvalidInputError(f"--blocks {text!r}: the range must satisfy 0 <= A < B")
    if end - start > MAX_RANGE:
        raise InvalidInputError(
            f"--blocks {text!r} spans {end - start:,} blocks; "
            f"inspect at most {MAX_RANGE:,} at a time"
        )
    return start, end


def _rpc_urls(value: str | None) -> list[str]:
    from timemachine.errors import InvalidInputError

    urls = [url.strip() for url in (value or "").split(",") if url.strip()]
    if not urls:
        raise InvalidInputError("--blocks and a tx hash need --rpc-url (or WEB3_RPC_URL)")
    return urls


@mev_app.command("inspect")
def inspect_command(
    tx_hash: Annotated[
        str | None,
        typer.Argument(help="Inspect the block of this transaction, reporting only its MEV."),
    ] = None,
    block_file: Annotated[
        list[Path] | None,
        typer.Option(
            "--block-file",
            "-f",
            help="trace_block JSON (mev-inspect fixture layout or a bare trace list); repeatable.",
        ),
    ] = None,
    blocks: Annotated[
        str | None,
        typer.Option("--blocks", help="Blocks A:B from --rpc-url (A inclusive, B exclusive)."),
    ] = None,
    rpc_url: Annotated[
        str | None,
        typer.Option(
            "--rpc-url",
            "-r",
            envvar="WEB3_RPC_URL",
            help="Node(s) with trace_block or debug_traceBlockByNumber; comma-separated: failover.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="mev-inspect-py field names, integer amounts.")
    ] = False,
    reference_only: Annotated[
        bool,
        typer.Option(
            "--reference-only",
            help="Only the protocol specs mev-inspect-py has (to compare counts).",
        ),
    ] = False,
    store: Annotated[
        bool,
        typer.Option(
            "--store",
            help="Also store the results (DATABASE_URL or the embedded default), replacing "
            "earlier results for these blocks.",
        ),
    ] = False,
    chain_id: Annotated[
        int,
        typer.Option(
            "--chain-id", min=1, help="Chain the blocks belong to (--store, --pair-prices)."
        ),
    ] = 1,
    prices: Annotated[
        Path | None,
        typer.Option(
            "--prices",
            help='Value non-ETH profits in ETH from this JSON file: {"0xtoken": [wei, units]} '
            "(units base units are worth wei wei).",
        ),
    ] = None,
    pair_prices: Annotated[
        bool,
        typer.Option(
            "--pair-prices",
            help="Value non-ETH profits at the mid price of a V2-style pair with the chain's "
            "wrapped native token among the block's pools, at the previous block (--rpc-url).",
        ),
    ] = False,
) -> None:
    """Find MEV in blocks: --block-file F (repeatable), --blocks A:B --rpc-url URL, or a tx hash.

    Exit codes: 2 bad input (unreadable or non-trace JSON, bad range), 3 unknown block or tx,
    4 RPC problem (including a node with neither trace_block nor debug_traceBlockByNumber)."""
    from timemachine.cli.tx_imports import progress_bar
    from timemachine.errors import InvalidInputError
    from timemachine.mev import inspect_block, load_block_file
    from timemachine.mev.models import InspectionReport
    from timemachine.settings import get_settings

    debug = get_settings().debug
    results: list[BlockInspection] = []
    with reported_errors(debug=debug):
        sources = sum(x is not None and x != [] for x in (tx_hash, block_file, blocks))
        if sources != 1:
            raise InvalidInputError("give exactly one of: --block-file F, --blocks A:B, a tx hash")
        if block_file:
            with progress_bar("inspecting block files", enabled=not as_json) as advance:
                for done, path in enumerate(block_file, 1):
                    results.append(
                        inspect_block(load_block_file(path), reference_only=reference_only)
                    )
                    advance(done, len(block_file))
    if blocks is not None:
        with reported_errors(debug=debug):
            start, end = parse_range(blocks)
            urls = _rpc_urls(rpc_url)
        results = run_async(
            _inspect_range(urls, start, end, reference_only, not as_json), debug=debug
        )
    elif tx_hash is not None:
        with reported_errors(debug=debug):
            urls = _rpc_urls(rpc_url)
        results = [run_async(_inspect_tx(urls, tx_hash, reference_only), debug=debug)]
    if prices is not None or pair_prices:
        results = run_async(
            _value(results, prices, _rpc_urls(rpc_url) if pair_prices else [], chain_id),
            debug=debug,
        )
    if store:
        with reported_errors(debug=debug):
            stored = _store(results, chain_id)
        sys.stderr.write(f"stored {stored} findings of {len(results)} blocks (chain {chain_id})\n")
    if as_json:
        typer.echo(InspectionReport(blocks=results).model_dump_json(indent=2))
    else:
        print_inspections(results)


async def _value(
    results: list[BlockInspection], price_file: Path | None, urls: list[str], chain_id: int
) -> list[BlockInspection]:
    """Profits valued in ETH through the price file, or the pairs on the first node."""
    from timemachine.chain.rpc import RpcClient
    from timemachine.errors import InvalidInputError
    from timemachine.mev.prices import PairPrices, StaticPrices, pair_price_token, valued

    if price_file is not None and urls:
        raise InvalidInputError("give --prices FILE or --pair-prices, not both")
    if price_file is not None:
        static = StaticPrices.from_file(price_file)
        return [await valued(result, static) for result in results]
    async with RpcClient(urls[0]) as client:
        pairs = PairPrices(client, pair_price_token(chain_id))
        return [await valued(result, pairs) for result in results]


def _store(results: list[BlockInspection], chain_id: int) -> int:
    """Replace the stored results of these blocks, all in one database transaction."""
    from timemachine.settings import get_settings
    from timemachine.store import MevResults, open_database

    database = open_database(get_settings().database_url)
    try:
        with database.session() as s:
            return MevResults(s).replace_blocks(chain_id, results)
    finally:
        database.dispose()


class _Nodes:
    """The --rpc-url list: each block comes from the first node that answers."""

    def __init__(self, urls: list[str]) -> None:
        from timemachine.chain.rpc import RpcClient
        from timemachine.mev.sources import RpcTraceSource

        self.clients = [RpcClient(url) for url in urls]
        self.sources = [RpcTraceSource(client) for client in self.clients]

    async def block(self, number: int) -> Block:
        from timemachine.errors import RpcUnavailableError

        for source in self.sources[:-1]:
            try:
                return await source.block(number)
            except RpcUnavailableError:
                continue
        return await self.sources[-1].block(number)

    async def call(self, method: str, params: list[object]) -> object:
        from timemachine.errors import RpcUnavailableError

        for client in self.clients[:-1]:
            try:
                return await client.call(method, params)
            except RpcUnavailableError:
                continue
        return await self.clients[-1].call(method, params)

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()


async def _inspect_range(
    urls: list[str], start: int, end: int, reference_only: bool, progress: bool
) -> list[BlockInspection]:
    from timemachine.cli.tx_imports import progress_bar
    from timemachine.mev import inspect_block

    nodes = _Nodes(urls)
    results: list[BlockInspection] = []
    try:
        with progress_bar(f"inspecting blocks {start}:{end}", enabled=progress) as advance:
            for number in range(start, end):
                block = await nodes.block(number)
                results.append(inspect_block(block, reference_only=reference_only))
                advance(number - start + 1, end - start)
    finally:
        await nodes.aclose()
    return results


async def _inspect_tx(urls: list[str], tx_hash: str, reference_only: bool) -> BlockInspection:
    from timemachine.errors import InvalidInputError, TransactionNotFoundError
    from timemachine.mev import inspect_block
    from timemachine.mev.inspect import only_transaction

    tx = tx_hash.strip().lower()
    if len(tx) != 66 or not tx.startswith("0x"):
        raise InvalidInputError(f"{tx_hash!r} is not a transaction hash (0x + 64 hex digits)")
    nodes = _Nodes(urls)
    try:
        receipt = await nodes.call("eth_getTransactionReceipt", [tx])
        if not isinstance(receipt, dict) or receipt.get("blockNumber") is None:
            raise TransactionNotFoundError(f"transaction {tx} is not known (or not mined) there")
        block = await nodes.block(int(receipt["blockNumber"], 16))
    finally:
        await nodes.aclose()
    return only_transaction(inspect_block(block, reference_only=reference_only), tx)


def _amount(value: int) -> str:
    return f"{value:,}"


def print_inspections(results: list[BlockInspection]) -> None:
    """A table per block: each MEV found, then the block's summary."""
    from rich.table import Table

    from timemachine.cli.output import fit, terminal_console

    console = terminal_console()
    for result in results:
        table = Table(
            title=f"block {result.block_number}  (miner {result.miner_address or 'unknown'})",
            title_justify="left",
        )
        table.add_column("type")
        table.add_column("tx")
        table.add_column("searcher")
        table.add_column("detail")
        table.add_column("profit", justify="right")
        for arb in result.arbitrages:
            route = " > ".join(s.contract_address[:10] for s in arb.swaps)
            status = f" [red]{arb.error}[/]" if arb.error else ""
            table.add_row(
                "arbitrage",
                arb.transaction_hash[:12],
                arb.account_address,
                f"{len(arb.swaps)} swaps {route}{status}",
                f"{_amount(arb.profit_amount)} {arb.profit_token_address[:10]}",
            )
        for sandwich in result.sandwiches:
            table.add_row(
                "sandwich",
                sandwich.frontrun_swap.transaction_hash[:12],
                sandwich.sandwicher_address,
                f"{len(sandwich.sandwiched_swaps)} victims, pool "
                f"{sandwich.frontrun_swap.contract_address[:10]} ({sandwich.kind})",
                f"{_amount(sandwich.profit_amount)} {sandwich.profit_token_address[:10]}",
            )
        for liq in result.liquidations:
            table.add_row(
                f"liquidation ({liq.protocol})",
                liq.transaction_hash[:12],
                liq.liquidator_user,
                f"repaid {_amount(liq.debt_purchase_amount)} {liq.debt_token_address[:10]}, "
                f"got {_amount(liq.received_amount)} {(liq.received_token_address or '?')[:10]}",
                "",
            )
        for jit in result.jit_liquidity:
            table.add_row(
                "jit liquidity",
                jit.mint_transaction_hash[:12],
                jit.bot_address,
                f"pool {jit.pool_address[:10]}, {len(jit.swaps)} swaps",
                "",
            )
        summary = result.summary
        if not summary.mev_count:
            table.add_row("none", "", "", f"{len(result.swaps)} swaps, no MEV found", "")
        console.print(fit(table, console))
        for kind, part in summary.by_type.items():
            if part.profit_eth or part.unpriced:
                unpriced = f"; not valued: {', '.join(part.unpriced)}" if part.unpriced else ""
                console.print(f"  {kind} profit {_amount(part.profit_eth)} wei{unpriced}")
        console.print(
            f"  {len(result.swaps)} swaps, {summary.mev_count} MEV; miner revenue "
            f"{_amount(summary.miner_revenue)} wei (coinbase transfers "
            f"{_amount(summary.coinbase_transfers)}, "
            f"priority fees {_amount(summary.priority_fees)})"
        )
