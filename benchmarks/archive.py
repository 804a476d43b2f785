"""Archive extraction speed beside paradigm's cryo, from the same local anvil, in one run.

The chain: a fresh anvil with an ERC-20 token and --blocks blocks of --transfers token transfers
each (the setup of ../shared/peers/README.md's once-measured cryo figures). Per dataset (and for
blocks+transactions+logs+traces together), cryo (its Python bindings: the Rust extractor,
`cryo.async_freeze`) and we (`timemachine.archive.extract` through a provider pool, as the CLI
does) write the same files (1,000-block chunks, lz4) into fresh directories; blocks/s is the
median of --rounds, the two tools alternating. Our run report shows where the time goes (RPC per
method, row building, Parquet encoding, writing; summed over concurrent requests). Then the file
sizes of the same datasets per compression codec (our lz4 files re-encoded with each).

    python -m benchmarks.archive [--blocks 2000] [--transfers 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from timemachine.archive.extract import ExtractReport, ExtractRequest, extract
from timemachine.archive.layout import BlockRange, ChunkName
from timemachine.archive.schemas import parse_datasets
from timemachine.archive.storage import ArchiveStorage
from timemachine.archive.writer import encode, parse_compression
from timemachine.catalog.artifacts import BUNDLED, load_artifact
from timemachine.chain.pool import PoolOptions, ProviderPool
from timemachine.chain.rpc import RpcClient
from timemachine.forks.devnet import run_local_chain

DATASETS = ["blocks", "transactions", "logs", "traces", "balance_diffs", "storage_diffs"]
TOGETHER = "blocks,transactions,logs,traces"
CODECS = ["lz4", "zstd 3", "zstd 9", "gzip 6", "snappy", "none"]


async def build(rpc: RpcClient, blocks: int, transfers: int) -> int:
    """Deploy a token, then mine `blocks` blocks of `transfers` transfers; returns the head."""
    token = load_artifact("DemoToken", BUNDLED)
    accounts = await rpc.call("eth_accounts")
    owner = accounts[0]
    deploy = {"from": owner, "data": "0x" + token.deploy_data("Bench", "BEN").hex()}
    sent = await rpc.call("eth_sendTransaction", [{**deploy, "gas": hex(3_000_000)}])
    await rpc.call("anvil_mine", ["0x1"])
    address = (await rpc.call("eth_getTransactionReceipt", [sent]))["contractAddress"]
    mint = "0x" + token.calldata("mint", owner, 10**30).hex()
    await rpc.call("eth_sendTransaction", [{"from": owner, "to": address, "data": mint}])
    await rpc.call("anvil_mine", ["0x1"])
    nonce = 2  # after the deployment and the mint; explicit: a batch's sends race otherwise
    for block in range(blocks):
        calls: list[tuple[str, list[object]]] = []
        for index in range(transfers):
            data = token.calldata("transfer", accounts[1 + index % 9], block + index + 1)
            tx = {"from": owner, "to": address, "data": "0x" + data.hex(), "nonce": hex(nonce)}
            calls.append(("eth_sendTransaction", [tx]))
            nonce += 1
        await rpc.batch(calls)
        await rpc.call("anvil_mine", ["0x1"])
    head = int(await rpc.call("eth_blockNumber"), 16)
    last = await rpc.call("eth_getBlockByNumber", [hex(head), False])
    assert len(last["transactions"]) == transfers, "the transfers were not all mined"
    return head


async def run_cryo(url: str, datasets: list[str], end: int, folder: Path) -> float:
    import cryo

    started = time.perf_counter()
    for dataset in datasets:  # cryo 0.3.2 fails balance_diffs + storage_diffs in one run
        await cryo.async_freeze(
            dataset, blocks=[f"0:{end}"], rpc=url, output_dir=str(folder), verbose=False
        )
    return time.perf_counter() - started


async def run_ours(url: str, datasets: list[str], end: int, folder: Path) -> ExtractReport:
    request = ExtractRequest(parse_datasets(datasets), BlockRange(0, end))
    async with ProviderPool(url, PoolOptions(timeout=120)) as pool:
        return await extract(pool, ArchiveStorage(folder), request)


def reencoded(folder: Path, codec: str) -> dict[str, int]:
    """Bytes per dataset of the chunk files under `folder` written again with `codec`."""
    compression = parse_compression(codec)
    totals = dict.fromkeys(DATASETS, 0)
    for path in folder.glob("*.parquet"):
        name = ChunkName.parse(path.name)
        assert name is not None
        totals[name.dataset] += len(encode(pq.read_table(path), "parquet", compression).data)
    return totals


def size(folder: Path, dataset: str) -> int:
    return sum(p.stat().st_size for p in folder.glob(f"*__{dataset}__*"))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blocks", type=int, default=2000)
    parser.add_argument("--transfers", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    anvil_args = ("--no-mining", "--order", "fifo", "--silent", "--accounts", "10")
    built = time.perf_counter()
    async with run_local_chain(
        anvil_args, lambda rpc: build(rpc, args.blocks, args.transfers)
    ) as chain:
        end = chain.history + 1
        url = chain.rpc_url
        print(
            f"chain: {end:,} blocks, {args.blocks * args.transfers:,} token transfers "
            f"(built in {time.perf_counter() - built:.0f}s); chunks of 1,000 blocks, lz4; "
            f"median of {args.rounds} rounds\n"
        )
        print(f"{'dataset':<34} {'cryo blocks/s':>14} {'ours blocks/s':>14} {'ours/cryo':>10}")
        work = Path(tempfile.mkdtemp(prefix="archive-bench-"))
        last: ExtractReport | None = None
        try:
            for item in [*DATASETS, TOGETHER]:
                datasets = item.split(",")
                theirs, ours = [], []
                for round_number in range(args.rounds):
                    for tool in ("cryo", "ours") if round_number % 2 == 0 else ("ours", "cryo"):
                        folder = work / f"{tool}-{round_number}"
                        shutil.rmtree(folder, ignore_errors=True)
                        if tool == "cryo":
                            theirs.append(await run_cryo(url, datasets, end, folder))
                        else:
                            last = await run_ours(url, datasets, end, folder)
                            ours.append(last.seconds)
                cryo_rate = end / statistics.median(theirs)
                our_rate = end / statistics.median(ours)
                print(
                    f"{item:<34} {cryo_rate:>14,.0f} {our_rate:>14,.0f} "
                    f"{our_rate / cryo_rate:>9.2f}x"
                )
            assert last is not None
            steps = last.timings.seconds
            total = sum(steps.values())
            print(
                f"\nwhere our time goes ({TOGETHER}, last round, summed over concurrent requests):"
            )
            for step, seconds in sorted(steps.items(), key=lambda kv: -kv[1]):
                print(f"  {step:<30} {seconds:7.3f}s {100 * seconds / total:5.1f}%")

            print("\nfile sizes (bytes, all chunks) per compression:")
            extracted = work / "sizes"
            await run_ours(url, DATASETS, end, extracted)
            sizes = {codec: reencoded(extracted, codec) for codec in CODECS}
            cryo_folder = work / "cryo-0"
            print(f"{'dataset':<15}" + "".join(f"{c:>12}" for c in CODECS) + f"{'cryo lz4':>12}")
            for dataset in DATASETS:
                theirs_size = size(cryo_folder, dataset) if dataset in TOGETHER else 0
                print(
                    f"{dataset:<15}"
                    + "".join(f"{sizes[c][dataset]:>12,}" for c in CODECS)
                    + (f"{theirs_size:>12,}" if theirs_size else f"{'-':>12}")
                )
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
