"""Write the chain-specific conformance fixtures (timemachine.conformance.chain_fixtures) as JSON.

    python scripts/build_chain_fixtures.py [DIRECTORY]   # default: tests/conformance/chain_fixtures

One file per fixture, named after it; the conformance test checks the files are this script's
current output and replays each one.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from timemachine.conformance.chain_fixtures import build_all

DEFAULT = Path(__file__).resolve().parents[1] / "tests" / "conformance" / "chain_fixtures"


def main() -> None:
    directory = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    directory.mkdir(parents=True, exist_ok=True)
    for fixture in build_all():
        path = directory / (fixture["name"].replace("/", "__") + ".json")
        path.write_text(json.dumps(fixture, indent=1, sort_keys=True) + "\n")
        sys.stdout.write(f"{path}\n")


if __name__ == "__main__":
    main()
