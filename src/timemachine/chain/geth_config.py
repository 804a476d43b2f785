"""The hardfork of a block from a go-ethereum chain config (genesis `config`, or what a geth node
reports in `admin_nodeInfo`), for chains the registry has no schedule for."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from timemachine.chain.hardforks import ETHEREUM_HARDFORKS, Activation, ByBlock, ByTimestamp
from timemachine.hexutil import quantity

# geth's ChainConfig fields (params/config.go) and the anvil hardfork each switches on, oldest
# first. daoForkBlock is left out: anvil's "dao" runs Homestead rules and the DAO state change is
# block-level processing geth's runner does not do.
_BLOCK_FORKS: tuple[tuple[str, str], ...] = (
    ("homesteadblock", "homestead"),
    ("eip150block", "tangerine"),
    ("eip158block", "spuriousdragon"),
    ("byzantiumblock", "byzantium"),
    ("constantinopleblock", "constantinople"),
    ("petersburgblock", "petersburg"),
    ("istanbulblock", "istanbul"),
    ("muirglacierblock", "muirglacier"),
    ("berlinblock", "berlin"),
    ("londonblock", "london"),
    ("arrowglacierblock", "arrowglacier"),
    ("grayglacierblock", "grayglacier"),
)
_TIME_FORKS: tuple[tuple[str, str], ...] = (
    ("shanghaitime", "shanghai"),
    ("cancuntime", "cancun"),
    ("praguetime", "prague"),
    ("osakatime", "osaka"),
)


def hardfork_for_config(
    config: Mapping[str, Any], number: int, timestamp: int, *, merged: bool | None = None
) -> str:
    """The anvil hardfork geth runs a block with this number and timestamp under.

    Keys are matched case-insensitively, like Go's JSON decoder does ("IstanbulBlock" counts).
    geth checks every fork on its own (a config may list them out of order, e.g. eip158Block 10
    after byzantiumBlock 0), so the answer is the newest fork that is active. The block is
    post-merge only when `terminalTotalDifficulty` is exactly 0 (geth's runner sets PREVRANDAO
    only then) unless `merged` says (a live block: its header's zero difficulty proves it); only a
    post-merge block gets Paris and the timestamp forks.
    """
    keys = {str(key).lower(): value for key, value in config.items()}
    forks: list[tuple[str, Activation]] = [("frontier", ByBlock(0))]
    for key, name in _BLOCK_FORKS:
        at = quantity(keys.get(key))
        if at is not None:
            forks.append((name, ByBlock(at)))
    if merged is None:
        merged = quantity(keys.get("terminaltotaldifficulty")) == 0
    if merged:
        forks.append(("paris", ByBlock(0)))
        for key, name in _TIME_FORKS:
            seconds = quantity(keys.get(key))
            if seconds is not None:
                forks.append((name, ByTimestamp(seconds)))
    active = [name for name, when in forks if when.active(number, timestamp)]
    return max(active, key=ETHEREUM_HARDFORKS.index)


def node_chain_config(node_info: Any) -> Mapping[str, Any] | None:
    """The chain config in a geth `admin_nodeInfo` answer (`protocols.eth.config`), or None."""
    if not isinstance(node_info, Mapping):
        return None
    eth = (node_info.get("protocols") or {}).get("eth")
    config = eth.get("config") if isinstance(eth, Mapping) else None
    return config if isinstance(config, Mapping) and config.get("chainId") is not None else None
