"""`timemachine chain status|watch`: the providers of a chain, and its heads and reorgs live."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from timemachine.cli.errors import run_async
from timemachine.cli.group import command_group
from timemachine.cli.inputs import JsonOption

if TYPE_CHECKING:
    from timemachine.chain.pool import ProviderPool
    from timemachine.models.providers import ChainStatus

chain_app = command_group(
    "Chain access: provider health, failover and quorum; live heads and reorgs."
)

ChainName = Annotated[
    str | None,
    typer.Option(
        "--chain", "-c", help="Chain name or id whose configured providers to use (ethereum)."
    ),
]
RpcUrls = Annotated[
    str | None,
    typer.Option(
        "--rpc-url",
        "-r",
        help="Providers: URL or comma-separated URLs (url#weight=N; http(s) or ws(s)).",
    ),
]


def _debug() -> bool:
    from timemachine.settings import get_settings

    return get_settings().debug


def _open_pool(chain: str | None, rpc_url: str | None) -> tuple[ProviderPool, str, int]:
    """The pool of `--rpc-url`, else of the chain's configured providers; with the chain's name
    and confirmations."""
    from timemachine.chain.pool import ProviderPool, pool_options
    from timemachine.chain.registry import configured_rpc_url, find_chain
    from timemachine.errors import InvalidInputError
    from timemachine.settings import get_settings

    settings = get_settings()
    info = find_chain(chain or "ethereum")
    urls = rpc_url or configured_rpc_url(info.chain_id, settings)
    if not urls:
        env = (info.rpc_urls_env or info.rpc_env or "").upper() or "--rpc-url"
        raise InvalidInputError(f"no providers for {info.name}: pass --rpc-url or set {env}")
    name = info.name if chain or not rpc_url else ""
    return ProviderPool(urls, pool_options(settings), chain=name), name, info.confirmations


def _render(status: ChainStatus) -> str:
    lines = [f"chain {status.chain or '?'} (id {status.chain_id})"]
    lines.append(
        f"{'provider':<34} {'head':>10} {'lag':>4} {'latency':>9} {'health':<22} "
        f"{'requests':>8}  errors"
    )
    for p in status.providers:
        latency = f"{p.latency_ms:.1f}ms" if p.latency_ms is not None else "-"
        health = "ok" if p.healthy else f"benched: {p.benched}" if p.benched else "lagging"
        errors = ", ".join(f"{kind} {n}" for kind, n in sorted(p.errors.items())) or "-"
        head = str(p.head) if p.head is not None else "-"
        lines.append(
            f"{p.url:<34} {head:>10} {p.lag:>4} {latency:>9} {health:<22} {p.requests:>8}  {errors}"
        )
    if status.quorum is not None:
        q = status.quorum
        lines.append(
            f"quorum head {q.number} {q.hash} ({q.agree} of {q.of} agree, policy {q.policy})"
        )
        for label in q.dissenters:
            lines.append(f"  minority fork, benched: {label} said {q.said.get(label)}")
    else:
        lines.append(f"no quorum: {status.quorum_error}")
    return "\n".join(lines)


@chain_app.command("status")
def status(chain: ChainName = None, rpc_url: RpcUrls = None, as_json: JsonOption = False) -> None:
    """Per provider: head, lag, latency, health and errors; and the head a quorum agrees on."""
    from timemachine.chain.status import pool_status
    from timemachine.errors import QuorumError

    async def run() -> ChainStatus:
        pool, name, _ = _open_pool(chain, rpc_url)
        async with pool:
            return await pool_status(pool, chain=name)

    result = run_async(run(), debug=_debug())
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        typer.echo(_render(result))
    if result.quorum is None:
        error = QuorumError(result.quorum_error or "no quorum")
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(error.exit_code)


@chain_app.command("watch")
def watch(
    chain: ChainName = None,
    rpc_url: RpcUrls = None,
    as_json: JsonOption = False,
    count: Annotated[
        int | None, typer.Option("--count", "-n", min=1, help="Stop after N heads.")
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option("--metrics-port", help="Serve Prometheus metrics on this port meanwhile."),
    ] = None,
) -> None:
    """Print heads and reorgs as they happen (WebSocket where a provider has it, else polling)."""
    from timemachine.chain.streams import Chain
    from timemachine.chain.tracker import ChainReorged

    def show_reorg(event: ChainReorged) -> None:
        if as_json:
            typer.echo(json.dumps(event.as_event()))
            return
        ancestor = event.common_ancestor
        typer.echo(
            f"reorg depth {event.depth}: common ancestor {ancestor.number} {ancestor.hash}; "
            f"replaced {', '.join(str(b.number) for b in event.old)}"
        )

    async def run() -> None:
        if metrics_port is not None:
            from prometheus_client import start_http_server

            from timemachine.chain.metrics import CHAIN_REGISTRY

            start_http_server(metrics_port, addr="127.0.0.1", registry=CHAIN_REGISTRY)
        pool, name, confirmations = _open_pool(chain, rpc_url)
        async with Chain(pool, name=name, confirmations=confirmations) as live:
            live.tracker.on_reorg(show_reorg)
            seen = 0
            async for head in live.heads():
                final = live.tracker.is_final(head.number)
                if as_json:
                    event = {"type": "head", **head.as_dict(), "final": final}
                    typer.echo(json.dumps(event))
                else:
                    typer.echo(f"head {head.number} {head.hash}{' (final)' if final else ''}")
                seen += 1
                if count is not None and seen >= count:
                    return

    run_async(run(), debug=_debug())
