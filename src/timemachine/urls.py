"""URLs that may carry secrets (provider API keys sit in paths, queries and userinfo): the one
place that checks them and reduces them to what may be shown or logged.

`redact_url` (scheme://host:port) is what logs, errors and health reports print; `redact_text`
applies it to every URL in a text; `credential_hint` is the recognisable but harmless form the
credential API shows. `logs`, `bus`, `chain` and `security.vault` import these; nothing else
parses URLs for display.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult, urlsplit

from timemachine.errors import InvalidInputError

_URL = re.compile(r"(https?|wss?)://[^\s'\"]+")


def is_http_url(url: str) -> bool:
    """Whether `url` is an http(s) URL with a host and, if it names one, a well-formed port."""
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def host_and_port(parts: SplitResult) -> str:
    """`host[:port]` of a split URL, no userinfo (IPv6 hosts bracketed; a bad port left out)."""
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return host + port


def redact_url(url: str) -> str:
    """The URL reduced to scheme://host[:port], hiding API keys in paths, queries and userinfo.
    Text that is no URL (no scheme or host) keeps only what precedes any '/', '?', '#' or '@'."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        head = re.split(r"[/?#]", url.strip(), maxsplit=1)[0]
        return head.rpartition("@")[2]
    return f"{parts.scheme}://{host_and_port(parts)}"


def redact_text(text: str) -> str:
    """`text` with every URL in it reduced to scheme://host:port (keys in paths, queries and
    userinfo gone)."""
    return _URL.sub(lambda match: redact_url(match.group(0)), text)


def validate_provider_url(url: str) -> str:
    """The URL, stripped, if it is an http(s) URL with a host; InvalidInputError (which never
    repeats the URL, it may hold a key) otherwise."""
    url = url.strip()
    if not is_http_url(url) or any(ch.isspace() for ch in url):
        raise InvalidInputError(
            "the provider URL must be an http(s) URL with a host, e.g. "
            "https://eth-mainnet.g.alchemy.com/v2/<key>"
        )
    return url


MASK = "***"


def credential_hint(url: str) -> str:
    """A recognisable but harmless form of a provider URL: the scheme and the host's last two
    labels (the provider's domain), everything else masked: `https://***.alchemy.com/…`.

    Subdomains often name an account or project (`<project>.quiknode.pro`,
    `nd-123-456.p2pify.com`), paths and queries carry keys, ports and IP addresses describe
    networks: none of it is kept. The domain is enough to recognise a provider; the label
    tells two credentials of one provider apart. Idempotent: the hint of a hint is itself.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    labels = host.split(".")
    try:
        ipaddress.ip_address(host)
        shown = MASK
    except ValueError:
        if len(labels) <= 1:
            shown = MASK
        elif len(labels) == 2:
            shown = host
        else:
            shown = f"{MASK}.{'.'.join(labels[-2:])}"
    rest = "/…" if parts.path.strip("/") or parts.query or parts.fragment else ""
    return f"{parts.scheme}://{shown}{rest}"
