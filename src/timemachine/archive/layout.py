"""Where an archive chunk lives: cryo's file naming, shared by the writer, the catalog and queries.

cryo names a block chunk `{network}__{dataset}__{first:08d}_to_{last:08d}.{ext}` with the *last*
block inclusive, although its ranges on the command line (`--blocks A:B`) exclude B. We keep both
conventions: `BlockRange` is half-open like the CLI, the file name inclusive like cryo's files, so
a cryo user's globs and ours select the same files.

Chunks start at the range's first block and are `size` blocks long, as cryo (0.3.2, without
`--align`) cuts them: `--blocks 10:123 --chunk-size 50` gives 10-59, 60-109, 110-122 in both tools.
`align=True` cuts at multiples of `size` instead (10-49, 50-99, 100-122), which keeps chunk names
stable when a range grows from the end (continuous archival); unlike cryo's `--align`, it keeps
the partial chunks at both ends.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

FORMATS = ("parquet", "jsonl")
_NAME = re.compile(
    r"^(?P<network>[a-z0-9_-]+?)__(?P<dataset>[a-z0-9_]+)__"
    r"(?P<first>\d{8,})_to_(?P<last>\d{8,})\.(?P<ext>parquet|jsonl)$"
)


@dataclass(frozen=True, order=True)
class BlockRange:
    """Blocks `start` (inclusive) to `end` (exclusive), as cryo's `--blocks A:B`."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end:
            raise ValueError(f"empty or negative block range {self.start}:{self.end}")

    def __len__(self) -> int:
        return self.end - self.start

    def chunks(self, size: int, *, align: bool = False) -> list[BlockRange]:
        """This range cut into chunks of `size` blocks from its start (as cryo does), or at
        multiples of `size` with `align` (see the module doc)."""
        if size <= 0:
            raise ValueError("chunk size must be positive")
        first = (self.start // size + 1) * size if align else self.start + size
        edges = [self.start, *range(first, self.end, size), self.end]
        return [BlockRange(a, b) for a, b in itertools.pairwise(edges)]


@dataclass(frozen=True)
class ChunkName:
    """One chunk file's identity."""

    network: str
    dataset: str
    blocks: BlockRange
    fmt: str = "parquet"

    @property
    def filename(self) -> str:
        last = self.blocks.end - 1
        return f"{self.network}__{self.dataset}__{self.blocks.start:08d}_to_{last:08d}.{self.fmt}"

    @classmethod
    def parse(cls, filename: str) -> ChunkName | None:
        """The chunk a file name denotes; None for any other file (temp files included)."""
        match = _NAME.match(filename)
        if match is None:
            return None
        first, last = int(match["first"]), int(match["last"])
        if last < first:
            return None
        return cls(match["network"], match["dataset"], BlockRange(first, last + 1), match["ext"])


def parse_blocks(text: str) -> BlockRange:
    """`A:B` (B exclusive) as cryo reads it; ValueError with the reason otherwise."""
    start, sep, end = text.partition(":")
    if not sep or not start.strip().isdigit() or not end.strip().isdigit():
        raise ValueError(f"block range {text!r} is not A:B (A inclusive, B exclusive)")
    return BlockRange(int(start), int(end))


_CRYO_NETWORKS = {
    1: "ethereum",
    5: "goerli",
    10: "optimism",
    56: "bnb",
    69: "optimism_kovan",
    100: "gnosis",
    137: "polygon",
    420: "optimism_goerli",
    1101: "polygon_zkevm",
    1442: "polygon_zkevm_testnet",
    8453: "base",
    10200: "gnosis_chidao",
    17000: "holesky",
    42161: "arbitrum",
    42170: "arbitrum_nova",
    43114: "avalanche",
    80001: "polygon_mumbai",
    84531: "base_goerli",
    7777777: "zora",
    11155111: "sepolia",
}


def network_name(chain_id: int) -> str:
    """The network part of a chunk name for `chain_id`, as cryo 0.3.2 names it."""
    return _CRYO_NETWORKS.get(chain_id, f"network_{chain_id}")
