"""URLs that may carry secrets (provider API keys sit in paths, queries and userinfo): the one
place that checks them and reduces them to what may be shown or logged.

`redact_url` (scheme://host:port) is what logs, errors and health reports print; `redact_text`
applies it to every URL in a text; `credential_hint` is the recognisable but harmless form the
credential API shows. `logs`, `bus`, `chain` and `security.vault` import these; nothing else
parses URLs for display.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

from timemachine.errors import InvalidInputError

_URL = re.compile(r"(https?|wss?)://[^\s'\"]+")
_PUBLIC_SEGMENT = re.compile(r"^(?:[A-Za-z]{1,12}|v\d{1,2}|[A-Za-z]{1,12}-[A-Za-z]{1,12})$")
_SHOWN_TAIL = 4
_TAIL_FROM = 16


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
    """The URL reduced to scheme://host[:port], hiding API keys in paths, queries and userinfo."""
    parts = urlsplit(url)
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


def _mask(value: str) -> str:
    """`****` plus the last 4 characters of long values (enough to tell keys apart)."""
    return "****" + (value[-_SHOWN_TAIL:] if len(value) >= _TAIL_FROM else "")


def credential_hint(url: str) -> str:
    """A recognisable but harmless form of a provider URL: host and public path words kept;
    userinfo, key-like path segments and every query value masked (long ones keep their last
    4 characters): `https://eth-mainnet.g.alchemy.com/v2/****abcd`."""
    parts = urlsplit(url)
    userinfo = "****@" if parts.username or parts.password or "@" in parts.netloc else ""
    segments = [
        seg if not seg or _PUBLIC_SEGMENT.match(seg) else _mask(seg)
        for seg in parts.path.split("/")
    ]
    query = urlencode(
        [(name, _mask(value)) for name, value in parse_qsl(parts.query, keep_blank_values=True)],
        safe="*",
    )
    fragment = "****" if parts.fragment else ""
    netloc = userinfo + host_and_port(parts)
    return urlunsplit((parts.scheme, netloc, "/".join(segments), query, fragment))
