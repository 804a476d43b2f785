"""The same transaction rendered by `cast run` and by `timemachine replay`, side by side, with
line counts: the deepest bundled scenario (reentrancy-bank, 50 nested re-entries) on the devnet,
both piped (no terminal), ours with the devnet manifest's labels.

    python -m benchmarks.output_vs_cast [--lines 14] [--scenario reentrancy-bank]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

from benchmarks.replay_vs_cast import CAST_ENV, run_process
from timemachine.devnet import manifest, run_devnet
from timemachine.forks.locate import locate_binary


def tree_lines(output: str) -> list[str]:
    """The call tree of either tool's output: from `Traces:` to the line before the outcome."""
    lines = output.splitlines()
    start = lines.index("Traces:") + 1
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("  "))
    return lines[start:end]


async def compare(scenario: str, shown: int) -> None:
    async with run_devnet() as net:
        tx = net.history.scenario(scenario).exploit_tx
        with tempfile.TemporaryDirectory() as folder:
            labels = Path(folder) / "devnet.json"
            labels.write_text(json.dumps(manifest(net)))
            _, cast = await run_process(
                str(locate_binary("cast")), "run", tx, "-r", net.rpc_url, env=CAST_ENV
            )
            _, ours = await run_process(
                sys.executable, "-m", "timemachine.cli.main", "replay", tx, "-r", net.rpc_url,
                "--labels", str(labels),
            )  # fmt: skip
    outputs = {"cast run": cast.decode(), "timemachine replay": ours.decode()}
    print(f"{scenario}: {tx}")
    print(f"{'tool':<22}{'output lines':>14}{'tree lines':>12}{'longest line':>14}")
    for tool, text in outputs.items():
        tree = tree_lines(text)
        longest = max(len(line) for line in text.splitlines())
        print(f"{tool:<22}{len(text.splitlines()):>14}{len(tree):>12}{longest:>14}")
    for tool, text in outputs.items():
        print(f"\n--- {tool}: the first {shown} lines of the tree")
        print("\n".join(tree_lines(text)[:shown]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="reentrancy-bank")
    parser.add_argument("--lines", type=int, default=14)
    arguments = parser.parse_args()
    asyncio.run(compare(arguments.scenario, arguments.lines))


if __name__ == "__main__":
    main()
