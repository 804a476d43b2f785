"""Rule engine throughput and alert latency.

1. events/s through `RuleEngine.evaluate` with 10, 1,000 and 10,000 loaded rules (one process,
   one core). The rule mix is what a watch list looks like: most rules watch an address (a
   contract or a treasury), some a function selector or an event topic, 1% watch everything.
   Events are transactions with 3 logs drawn from 50,000 addresses (so some hit watched ones),
   256 selectors and 256 event topics.
2. event → webhook latency, p50/p99: `Notifier.process` (match, policy, store) and delivery to a
   real local HTTP receiver (signed webhook), timed from the event to the receiver's arrival.

    python -m benchmarks.rules [--events 20000] [--rules 10 1000 10000] [--latency 300] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from timemachine.alerts import ChannelSender, DeliverySettings, Notifier, SystemClock
from timemachine.rules import RuleEngine, RuleEvent, load_text
from timemachine.security.outbound import OutboundPolicy
from timemachine.store import open_database

SELECTORS = [f"0x{i:08x}" for i in range(1, 257)]
TOPICS = ["0x" + f"{i:064x}" for i in range(1, 257)]
SEVERITIES = ["info", "low", "medium", "high", "critical"]


def address(rng: random.Random, pool: int) -> str:
    return f"0x{rng.randrange(pool):040x}"


def rule_file(count: int, rng: random.Random) -> str:
    lines = ["rules:"]
    for i in range(count):
        kind = rng.random()
        when = 'tx.value >= 10 ether or finding.severity >= "high"'
        if i < max(1, count // 100):
            scope = "{stages: [pending]}"
            when = 'finding.severity >= "critical" and sim.reverted == false'
        elif kind < 0.05:
            scope = f'{{contracts: [{{functions: ["{rng.choice(SELECTORS)}"]}}]}}'
            when = "tx.value > 100 ether"
        elif kind < 0.09:
            scope = f'{{contracts: [{{events: ["{rng.choice(TOPICS)}"]}}]}}'
            when = '"Transfer" in events and event.Transfer.value > 9000000'
        else:
            scope = f'{{addresses: ["{address(rng, 50_000)}"]}}'
        lines.append(f"  - {{id: r{i}, when: '{when}', scope: {scope}}}")
    return "\n".join(lines) + "\n"


def make_event(rng: random.Random, index: int) -> RuleEvent:
    logs = [
        {
            "address": address(rng, 50_000),
            "topics": [rng.choice(TOPICS)],
            "name": "Transfer",
            "args": {"value": rng.randrange(10**7)},
        }
        for _ in range(3)
    ]
    findings = (
        [{"class": "reentrancy", "severity": rng.choice(SEVERITIES)}] if rng.random() < 0.1 else []
    )
    return RuleEvent.model_validate(
        {
            "stage": rng.choice(["pending", "simulated", "mined"]),
            "chain": "mainnet",
            "chain_id": 1,
            "tx": {
                "hash": f"0x{index:064x}",
                "from": address(rng, 50_000),
                "to": address(rng, 50_000),
                "value": rng.randrange(20 * 10**18),
                "input": rng.choice(SELECTORS) + "00" * 64,
            },
            "logs": logs,
            "simulation": {"success": rng.random() < 0.9},
            "findings": findings,
        }
    )


def throughput(rule_count: int, events: list[RuleEvent], rng: random.Random) -> dict[str, Any]:
    started = time.perf_counter()
    engine = RuleEngine(load_text(rule_file(rule_count, rng)))
    load_seconds = time.perf_counter() - started
    matches = 0
    started = time.perf_counter()
    for event in events:
        matches += len(engine.evaluate(event))
    seconds = time.perf_counter() - started
    return {
        "rules": rule_count,
        "events_per_s": round(len(events) / seconds),
        "matches": matches,
        "load_s": round(load_seconds, 2),
    }


def receiver() -> tuple[ThreadingHTTPServer, list[float]]:
    arrivals: list[float] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            arrivals.append(time.perf_counter())
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, arrivals


async def latency(count: int, rng: random.Random) -> dict[str, float]:
    server, arrivals = receiver()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    text = (
        f'channels:\n  hook: {{type: webhook, url: "{url}", secret: bench}}\n'
        "rules:\n  - {id: big, when: 'tx.value >= 0', notify: [hook]}\n"
    )
    sender = ChannelSender(OutboundPolicy.from_spec("127.0.0.1"))
    with tempfile.TemporaryDirectory() as directory:
        db = open_database(f"sqlite:///{Path(directory) / 'bench.db'}")
        unlimited = DeliverySettings(max_per_hour=10**9)  # the per-hour cap is not measured here
        notifier = Notifier(
            load_text(text), db, sender=sender, clock=SystemClock(), settings=unlimited
        )
        samples: list[float] = []
        for index in range(count):
            event = make_event(rng, index)
            started = time.perf_counter()
            notifier.process(event)
            await notifier.deliveries.drain_channel("hook")
            samples.append((arrivals[-1] - started) * 1000)
        db.dispose()
    await sender.aclose()
    server.shutdown()
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p99_ms": round(samples[int(len(samples) * 0.99) - 1], 2),
        "samples": count,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rules", type=int, nargs="+", default=[10, 1_000, 10_000])
    parser.add_argument("--latency", type=int, default=300, help="webhook deliveries to time")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = random.Random(18)
    events = [make_event(rng, i) for i in range(args.events)]
    results: dict[str, Any] = {"throughput": [throughput(n, events, rng) for n in args.rules]}
    results["webhook_latency"] = asyncio.run(latency(args.latency, rng))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'rules':>8} {'events/s':>10} {'matches':>9} {'load s':>7}  (goal: >= 5,000 events/s)")
    for row in results["throughput"]:
        print(f"{row['rules']:>8} {row['events_per_s']:>10} {row['matches']:>9} {row['load_s']:>7}")
    lat = results["webhook_latency"]
    print(f"event -> signed webhook: p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms "
          f"({lat['samples']} deliveries, SQLite store, local receiver)")  # fmt: skip


if __name__ == "__main__":
    main()
