"""Alert channels: generic webhook (HMAC-signed), e-mail over SMTP with STARTTLS, Slack,
Discord, Telegram and PagerDuty.

Each channel is a direct request (httpx, or smtplib for e-mail) rather than apprise: every
connection must go through the outbound policy's guarded transport (SSRF: apprise opens its
own connections), the delivery queue needs the exact status and `Retry-After` of each answer,
and the webhook must sign the exact bytes it sends. Each send returns an `Outcome`; errors
name the channel and the failure, never its URL or secret (a Telegram token is in its URL).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx

from timemachine.alerts.model import Alert
from timemachine.alerts.render import LIMITS, check_template, render, truncate
from timemachine.alerts.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from timemachine.errors import OutboundPolicyError, OutboundRefusedError
from timemachine.rules.errors import RuleError
from timemachine.rules.model import Channel
from timemachine.security.outbound import OutboundPolicy

TIMEOUT = 10.0
DEFAULT_BASES = {
    "telegram": "https://api.telegram.org",
    "pagerduty": "https://events.pagerduty.com",
}
PAGERDUTY_SEVERITY = {
    "critical": "critical",
    "high": "error",
    "medium": "warning",
    "low": "info",
    "info": "info",
}
NEEDS = {
    "webhook": ("url", "secret"),
    "slack": ("url",),
    "discord": ("url",),
    "telegram": ("secret", "chat_id"),
    "pagerduty": ("secret",),
    "email": ("smtp_host", "sender", "to"),
}


@dataclass(frozen=True)
class Outcome:
    """How one delivery attempt ended."""

    delivered: bool
    retry: bool = False
    """A transient failure (down, 5xx, 429, timeout): try again later."""
    retry_after: float | None = None
    """Seconds the receiver asked to wait (429/503 `Retry-After`)."""
    status: int | None = None
    error: str | None = None


def check_channel(name: str, channel: Channel, policy: OutboundPolicy) -> None:
    """RuleError unless `channel` has what its type needs, a valid template and allowed URLs."""
    missing = [f for f in NEEDS[channel.type] if not getattr(channel, f)]
    if missing:
        raise RuleError(f"channel {name!r} ({channel.type}) needs {', '.join(missing)}")
    if channel.template is not None:
        check_template(channel.template)
    if channel.url is not None:
        try:
            policy.check_url(channel.url, resolve=False)
        except OutboundPolicyError as exc:
            raise RuleError(f"channel {name!r}: {exc.message}") from None


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """A `Retry-After` header (seconds or an HTTP date) as seconds from `now`."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def _secret(channel: Channel) -> str:
    return channel.secret.get_secret_value() if channel.secret is not None else ""


class ChannelSender:
    """Sends alerts; one guarded httpx client shared by every HTTP channel."""

    def __init__(
        self,
        policy: OutboundPolicy,
        *,
        wall_clock: Callable[[], float] = time.time,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.policy = policy
        self.wall_clock = wall_clock
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.client = httpx.AsyncClient(transport=policy.transport(), timeout=TIMEOUT)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def send(self, alert: Alert, channel: Channel) -> Outcome:
        if channel.type == "email":
            return await self._email(alert, channel)
        url, body, headers = self.request(alert, channel)
        return await self._post(url, body, headers)

    def request(self, alert: Alert, channel: Channel) -> tuple[str, bytes, dict[str, str]]:
        """The URL, exact body and headers of the HTTP request for `alert` on `channel`."""
        headers = {"Content-Type": "application/json", IDEMPOTENCY_HEADER: alert.id}
        text = partial(alert, channel)
        payload: dict[str, Any]
        if channel.type == "webhook":
            sent_at = int(self.wall_clock())
            payload = {
                "alert": alert.model_dump(mode="json"),
                "text": text(None),
                "sent_at": sent_at,
            }
            body = _json(payload)
            headers[SIGNATURE_HEADER] = sign(_secret(channel), body)
            headers[TIMESTAMP_HEADER] = str(sent_at)
            return str(channel.url), body, headers
        if channel.type == "slack":
            payload = {"text": text(LIMITS["slack"])}
            return str(channel.url), _json(payload), headers
        if channel.type == "discord":
            payload = {"content": text(LIMITS["discord"]), "allowed_mentions": {"parse": []}}
            return str(channel.url), _json(payload), headers
        base = (channel.url or DEFAULT_BASES[channel.type]).rstrip("/")
        if channel.type == "telegram":
            payload = {"chat_id": channel.chat_id, "text": text(LIMITS["telegram"])}
            return f"{base}/bot{_secret(channel)}/sendMessage", _json(payload), headers
        payload = {
            "routing_key": _secret(channel),
            "event_action": "trigger",
            "dedup_key": alert.id,
            "payload": {
                "summary": text(LIMITS["pagerduty"]),
                "source": f"timemachine/{alert.chain}",
                "severity": PAGERDUTY_SEVERITY[alert.severity],
                "custom_details": alert.model_dump(mode="json"),
            },
        }
        return f"{base}/v2/enqueue", _json(payload), headers

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
        try:
            response = await self.client.post(url, content=body, headers=headers)
        except OutboundRefusedError:
            return Outcome(False, error="refused by the outbound policy (OUTBOUND_ALLOW_HOSTS)")
        except httpx.TransportError as exc:
            return Outcome(False, retry=True, error=f"connection failed ({type(exc).__name__})")
        status = response.status_code
        if 200 <= status < 300:
            return Outcome(True, status=status)
        transient = status in (408, 425, 429) or status >= 500
        wait = retry_after_seconds(response.headers.get("Retry-After"), self.wall_clock())
        return Outcome(
            False, retry=transient, retry_after=wait, status=status, error=f"HTTP {status}"
        )

    async def _email(self, alert: Alert, channel: Channel) -> Outcome:
        host, port = str(channel.smtp_host), channel.smtp_port
        try:
            address = await self.policy.connect_address(host, port)
        except OutboundRefusedError:
            return Outcome(False, error="SMTP host refused by the outbound policy")
        message = EmailMessage()
        message["Subject"] = render(alert, "subject", limit=LIMITS["subject"])
        message["From"] = str(channel.sender)
        message["To"] = ", ".join(channel.to)
        message["Message-ID"] = f"<{alert.id}@timemachine>"
        message.set_content(partial(alert, channel)(LIMITS["email"]))
        return await asyncio.to_thread(self._smtp_send, channel, host, address, message)

    def _smtp_send(
        self, channel: Channel, host: str, address: str, message: EmailMessage
    ) -> Outcome:
        try:
            with _NamedSMTP(host, timeout=TIMEOUT) as smtp:
                smtp.connect(address, channel.smtp_port)
                smtp.ehlo()
                if channel.starttls:
                    smtp.starttls(context=self.ssl_context)
                    smtp.ehlo()
                if channel.username and channel.password is not None:
                    smtp.login(channel.username, channel.password.get_secret_value())
                smtp.send_message(message)
        except smtplib.SMTPResponseException as exc:
            return Outcome(
                False,
                retry=400 <= exc.smtp_code < 500,
                status=exc.smtp_code,
                error=f"SMTP {exc.smtp_code}",
            )
        except (smtplib.SMTPException, OSError) as exc:
            return Outcome(False, retry=True, error=f"SMTP failed ({type(exc).__name__})")
        return Outcome(True, status=250)


class _NamedSMTP(smtplib.SMTP):
    """Connects to the address the policy checked; STARTTLS verifies the configured name."""

    _host: str

    def __init__(self, server_name: str, *, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.server_name = server_name

    def connect(self, host: str = "localhost", port: int = 0, source_address: Any = None) -> Any:
        reply = super().connect(host, port, source_address)
        self._host = self.server_name
        return reply


def partial(alert: Alert, channel: Channel) -> Callable[[int | None], str]:
    """The channel's text for `alert`, truncated to a limit given later."""

    def text(limit: int | None) -> str:
        rendered = render(alert, "text", template=channel.template)
        return truncate(rendered, limit) if limit is not None else rendered

    return text


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
