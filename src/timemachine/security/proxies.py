"""Which address a request comes from, when reverse proxies stand in between.

A proxy appends the address it received the request from to `X-Forwarded-For`; anyone can send
that header, so it is believed only from proxies the operator names (`FORWARDED_ALLOW_IPS`: IPs
or CIDR networks, or `*`). Default: no trusted proxy, the header is ignored and the client IP is
the connection's peer. With trusted proxies, the client is the right-most address of the chain
that is not itself a trusted proxy (the left part of the header is the client's own say).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP of one X-Forwarded-For entry (`1.2.3.4`, `1.2.3.4:5678`, `[::1]:80`, `::1`)."""
    value = value.strip().strip('"')
    if value.startswith("["):
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class TrustedProxies:
    networks: tuple[Network, ...] = ()
    everyone: bool = False

    @classmethod
    def from_spec(cls, spec: str) -> TrustedProxies:
        """`FORWARDED_ALLOW_IPS`: comma-separated IPs/networks, or `*` (ValueError if bad)."""
        entries = [e.strip() for e in spec.split(",") if e.strip()]
        if "*" in entries:
            return cls(everyone=True)
        return cls(networks=tuple(ipaddress.ip_network(e, strict=False) for e in entries))

    def trusts(self, host: str) -> bool:
        if self.everyone:
            return True
        address = _address(host)
        return address is not None and any(address in net for net in self.networks)

    def client(self, peer: str, forwarded_for: Iterable[str]) -> str:
        """The client's IP given the connection's `peer` and its X-Forwarded-For headers."""
        if not self.trusts(peer):
            return peer
        hops = [hop for header in forwarded_for for hop in header.split(",") if hop.strip()]
        client = peer
        for hop in reversed(hops):
            address = _address(hop)
            if address is None:
                break  # garbage from before the first trusted proxy: keep the last good hop
            client = str(address)
            if not self.trusts(client):
                break
        return client
