"""The outbound-URL policy: where a *user-supplied* URL may make the server connect to.

Every URL a user gives the server (a stored RPC credential today; webhooks, S3 endpoints and
alert channels later) goes through one `OutboundPolicy`:

- the scheme must be http, https, ws or wss;
- the host must be a name or a canonical IP address: odd numeric forms the resolver would still
  take (`0x7f000001`, `2130706433`, `017700000001`, `127.1`) are refused outright;
- every address the host resolves to must be public: loopback, private (RFC 1918, fc00::/7),
  link-local (169.254/16 — cloud metadata — and fe80::/10), shared (100.64/10), unspecified,
  multicast, reserved and documentation ranges are refused, also when wrapped in IPv6
  (`::ffff:127.0.0.1`, NAT64, 6to4, Teredo);
- unless an admin allows the host: `OUTBOUND_ALLOW_HOSTS` lists names, IPs or CIDR networks.

`check_url` is the early check (when a URL is stored: a clear 400). `GuardedTransport` enforces
the policy on every connection: it resolves the host itself, checks the addresses and connects to
the checked address (TLS still verifies the name), so a name that re-binds to 127.0.0.1 after it
was stored (DNS rebinding) is refused at connect time. `GuardedRpcClient` adds the last part:
whatever goes wrong with a user's upstream — refused, closed port, timeout, an HTTP error page,
a JSON-RPC error — the message is `UPSTREAM_FAILED`, the same every time, so the server cannot be
used to read internal services' replies or to tell open ports from closed ones. The details go to
the server log (URL redacted).

The server's own configuration (WEB3_RPC_URL and the other RPC settings, the embedded devnet) is
trusted operator input and is not checked. No web framework and no store here: the engine's
future alert channels and archive writers use this module as is.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from timemachine.chain.rpc import RpcClient, redact_url
from timemachine.errors import OutboundPolicyError, OutboundRefusedError, RpcError
from timemachine.logs import get_logger
from timemachine.settings import Settings

log = get_logger(__name__)

ALLOWED_SCHEMES = frozenset({"http", "https", "ws", "wss"})
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
UPSTREAM_FAILED = (
    "the upstream at your URL could not be used (unreachable, refused by the server's "
    "outbound policy, or it did not answer as a JSON-RPC node); check the URL you stored "
    "and the provider's status"
)
"""The one message for any failure of a user-supplied upstream (see the module doc)."""
REFUSED = (
    "this URL is not allowed: its host is (or resolves to) a loopback, private, link-local, "
    "multicast, unspecified or otherwise non-public address, or is an IP written in a "
    "non-standard form; use the provider's public http(s) URL (an admin can allow a host with "
    "OUTBOUND_ALLOW_HOSTS)"
)
RESOLVE_TTL = 30.0
"""Seconds a checked resolution is reused (connections go to the checked address either way)."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_NUMERIC_PART = re.compile(r"^(?:0[xX][0-9a-fA-F]*|[0-9]+)$")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def is_public(ip: IPAddress) -> bool:
    """Whether `ip` is a public unicast address (and so is any IPv4 address it wraps)."""
    if ip.is_multicast or not ip.is_global:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _IPV4_COMPATIBLE:
            return False
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and any(ip in net for net in _NAT64):
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public(embedded)
    return True


def _literal_ip(host: str) -> IPAddress | None:
    """The IP of a host written as an IP literal; None for a name. OutboundPolicyError for
    numeric forms that are not canonical dotted quads (what `inet_aton` would still accept)."""
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    parts = bare.rstrip(".").split(".")
    if all(_NUMERIC_PART.match(part) for part in parts):
        raise OutboundPolicyError(REFUSED)
    return None


def _entries(spec: str) -> tuple[frozenset[str], tuple[Network, ...]]:
    names: set[str] = set()
    networks: list[Network] = []
    for raw in spec.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        bare = entry[1:-1] if entry.startswith("[") and entry.endswith("]") else entry
        try:
            networks.append(ipaddress.ip_network(bare, strict=False))
        except ValueError:
            names.add(bare.rstrip("."))
    return frozenset(names), tuple(networks)


@dataclass
class OutboundPolicy:
    """Where user-supplied URLs may point (see the module doc)."""

    allow_names: frozenset[str] = frozenset()
    allow_networks: tuple[Network, ...] = ()
    _cache: dict[tuple[str, int], tuple[float, tuple[str, ...]]] = field(
        default_factory=dict, repr=False
    )

    @classmethod
    def from_spec(cls, spec: str) -> OutboundPolicy:
        names, networks = _entries(spec)
        return cls(allow_names=names, allow_networks=networks)

    @classmethod
    def from_settings(cls, settings: Settings) -> OutboundPolicy:
        return cls.from_spec(settings.outbound_allow_hosts)

    def _allowed_ip(self, ip: IPAddress) -> bool:
        return is_public(ip) or any(ip in net for net in self.allow_networks)

    def _allowed_name(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.allow_names

    def check_url(self, url: str, *, resolve: bool = True) -> str:
        """`url` if the policy allows it; OutboundPolicyError (never repeating the URL, which
        may hold a key) otherwise. With `resolve`, a name is resolved and each address checked;
        a name that does not resolve (now) passes: it is checked again at every connection."""
        parts = urlsplit(url.strip())
        try:
            host, port = parts.hostname, parts.port
        except ValueError:
            host, port = None, None
        if parts.scheme not in ALLOWED_SCHEMES or not host:
            raise OutboundPolicyError(
                "the URL must be an http, https, ws or wss URL with a host, e.g. "
                "https://eth-mainnet.g.alchemy.com/v2/<key>"
            )
        if self._allowed_name(host):
            return url
        literal = _literal_ip(host)
        if literal is not None:
            if not self._allowed_ip(literal):
                raise OutboundPolicyError(REFUSED)
            return url
        if resolve:
            try:
                addresses = _resolve(host, port or DEFAULT_PORTS[parts.scheme])
            except OSError:
                return url
            if not all(self._allowed_ip(ipaddress.ip_address(a)) for a in addresses):
                raise OutboundPolicyError(REFUSED)
        return url

    async def connect_address(self, host: str, port: int) -> str:
        """The address to connect to for `host`: checked now, at connect time.
        OutboundRefusedError when the host is not allowed or does not resolve."""
        if self._allowed_name(host):
            return host
        try:
            literal = _literal_ip(host)
        except OutboundPolicyError:
            raise OutboundRefusedError(UPSTREAM_FAILED) from None
        if literal is not None:
            if not self._allowed_ip(literal):
                raise OutboundRefusedError(UPSTREAM_FAILED)
            return str(literal)
        key = (host.lower(), port)
        cached = self._cache.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1][0]
        loop = asyncio.get_running_loop()
        try:
            addresses = await loop.run_in_executor(None, _resolve, host, port)
        except OSError:
            raise OutboundRefusedError(UPSTREAM_FAILED) from None
        if not addresses or not all(self._allowed_ip(ipaddress.ip_address(a)) for a in addresses):
            log.warning("outbound connection refused by policy", host=host, addresses=addresses)
            raise OutboundRefusedError(UPSTREAM_FAILED)
        if len(self._cache) > 1024:
            self._cache.clear()
        self._cache[key] = (time.monotonic() + RESOLVE_TTL, addresses)
        return addresses[0]

    def transport(self, *, verify: bool = True) -> GuardedTransport:
        return GuardedTransport(self, verify=verify)


def _resolve(host: str, port: int) -> tuple[str, ...]:
    """Every address `host` resolves to (scope ids dropped), in resolver order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: dict[str, None] = {}
    for _family, _type, _proto, _canon, sockaddr in infos:
        seen.setdefault(str(sockaddr[0]).split("%", 1)[0], None)
    return tuple(seen)


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport that connects only to addresses the policy allows, re-checked for
    every request: it resolves the host, checks it, and sends the request to that address
    (the Host header and the TLS server name stay the original host's)."""

    def __init__(self, policy: OutboundPolicy, *, verify: bool = True) -> None:
        self.policy = policy
        self._inner = httpx.AsyncHTTPTransport(verify=verify, trust_env=False)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        port = request.url.port or DEFAULT_PORTS.get(request.url.scheme, 80)
        address = await self.policy.connect_address(host, port)
        if address != host:
            request.url = request.url.copy_with(host=address)
            if request.url.scheme == "https":
                request.extensions = {**request.extensions, "sni_hostname": host}
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


class GuardedRpcClient(RpcClient):
    """An `RpcClient` for a user-supplied URL: connections through `GuardedTransport`, and every
    error carries `UPSTREAM_FAILED` (its class is kept, so the engine's fallbacks still work —
    e.g. no debug API → no prefetch — but the message never tells one failure from another)."""

    def __init__(
        self,
        url: str,
        policy: OutboundPolicy,
        *,
        timeout: float = 30.0,
        retries: int = 4,
        backoff: float = 0.25,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise OutboundRefusedError(UPSTREAM_FAILED)
        transport = policy.transport(verify=parts.scheme == "https")
        super().__init__(
            url, timeout=timeout, retries=retries, backoff=backoff, transport=transport
        )
        self.label = "your RPC provider"

    def _opaque(self, error: RpcError) -> RpcError:
        if error.message == UPSTREAM_FAILED:
            return error
        log.warning("user upstream failed", upstream_url=redact_url(self.url), error=error.message)
        return type(error)(UPSTREAM_FAILED, code=error.code)

    async def call(self, method: str, params: Sequence[Any] = ()) -> Any:
        try:
            return await super().call(method, params)
        except RpcError as error:
            raise self._opaque(error) from None

    async def batch_settled(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        try:
            results = await super().batch_settled(calls)
        except RpcError as error:
            raise self._opaque(error) from None
        return [self._opaque(r) if isinstance(r, RpcError) else r for r in results]


_ANY_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>)\]]+")
_ADDRESS = re.compile(r"\b(?:localhost|\d{1,3}(?:\.\d{1,3}){3})(?::\d{1,5})?\b")


def redact_for_users(message: str) -> str:
    """`message` with every URL and every IPv4 `address[:port]` (or `localhost[:port]`) replaced
    by `<url>` / `<address>`: for errors shown to users (a session's error), which must not
    describe the server's network — the devnet's, the gateway's or a fork's loopback ports, or
    where a provider URL points. The full message is in the server log."""
    return _ADDRESS.sub("<address>", _ANY_URL.sub("<url>", message))
