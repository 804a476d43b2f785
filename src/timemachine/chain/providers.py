"""Provider lists: `url[#weight=N][,url…]` as accepted wherever an RPC URL is (flags, env, API).

A provider URL may carry an API key (in its path, query or userinfo), so every provider also has a
`label`: the redacted `scheme://host[:port]` form (made unique within its list), which is the only
form that ever reaches a log line, an error message, the API or a metrics label.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from timemachine.chain.rpc import redact_url
from timemachine.errors import InvalidInputError

HTTP_SCHEMES = frozenset({"http", "https"})
WS_SCHEMES = frozenset({"ws", "wss"})
MAX_WEIGHT = 1000


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """One provider of a pool: its URL (fragment removed), weight and redacted label."""

    url: str
    weight: int = 1
    label: str = ""

    @property
    def websocket(self) -> bool:
        return urlsplit(self.url).scheme in WS_SCHEMES


def split_urls(value: str | Iterable[str] | None) -> list[str]:
    """The non-empty, stripped items of a comma-separated list (or of several such lists)."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    return [part.strip() for item in items for part in item.split(",") if part.strip()]


def redact_urls(value: str) -> str:
    """A comma-separated URL list reduced to redacted labels (`redact_url` of each item)."""
    return ",".join(redact_url(url) for url in split_urls(value)) or redact_url(value)


def parse_providers(value: str | Iterable[str] | None) -> list[ProviderSpec]:
    """Parse `url[#weight=N]` items (comma-separated); duplicates (same URL) are merged.

    Raises InvalidInputError, naming the redacted item, for a URL that is not http(s)/ws(s), a bad
    weight, or an empty list."""
    specs: dict[str, ProviderSpec] = {}
    labels: dict[str, int] = {}
    for item in split_urls(value):
        url, _, fragment = item.partition("#")
        weight = _weight(item, fragment)
        parts = urlsplit(url)
        try:
            valid = parts.scheme in HTTP_SCHEMES | WS_SCHEMES and bool(parts.hostname)
            parts.port  # noqa: B018 - raises ValueError on a malformed port
        except ValueError:
            valid = False
        if not valid:
            raise InvalidInputError(
                f"RPC URL {redact_url(url)!r} is not a valid http(s) or ws(s) URL; pass e.g. "
                "--rpc-url http://127.0.0.1:8545 or a comma-separated list "
                "(https://a.example/KEY#weight=3,wss://b.example/KEY)"
            )
        if url in specs:
            continue
        label = redact_url(url)
        labels[label] = labels.get(label, 0) + 1
        if labels[label] > 1:  # two keys on one host: keep the labels apart, still key-free
            label = f"{label}#{labels[label]}"
        specs[url] = ProviderSpec(url=url, weight=weight, label=label)
    if not specs:
        raise InvalidInputError("no RPC URL given: pass --rpc-url URL[,URL…] or set WEB3_RPC_URL")
    return list(specs.values())


def is_pool(value: str) -> bool:
    """Whether `value` needs a pool: several URLs, a weight, or a WebSocket URL."""
    items = split_urls(value)
    return len(items) != 1 or "#" in items[0] or urlsplit(items[0]).scheme in WS_SCHEMES


def _weight(item: str, fragment: str) -> int:
    if not fragment:
        return 1
    key, _, number = fragment.partition("=")
    if key.strip() != "weight" or not number.strip().isdigit():
        raise InvalidInputError(
            f"provider {redact_url(item)!r}: unknown fragment; the only option is #weight=N"
        )
    weight = int(number)
    if not 1 <= weight <= MAX_WEIGHT:
        raise InvalidInputError(
            f"provider {redact_url(item)!r}: weight must be 1..{MAX_WEIGHT}, got {weight}"
        )
    return weight
