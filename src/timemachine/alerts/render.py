"""Messages rendered from Jinja2 templates, one per channel type (a channel's `template`
overrides it), in a sandboxed environment (a template cannot reach Python internals), then
truncated to the channel's length limit."""

from __future__ import annotations

from typing import Any

from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment

from timemachine.alerts.model import Alert
from timemachine.rules.errors import RuleError

DEFAULT_TEMPLATES = {
    "subject": "[{{ alert.severity | upper }}] {{ alert.rule_id }} on {{ alert.chain }}",
    "text": (
        "[{{ alert.severity | upper }}] rule {{ alert.rule_id }} matched at stage "
        "{{ alert.stage }} on {{ alert.chain }} (chain {{ alert.chain_id }})\n"
        "{% if alert.tx_hash %}tx {{ alert.tx_hash }}\n{% endif %}"
        "{% if alert.matches > 1 %}{{ alert.matches }} matches in the window\n{% endif %}"
        "{% for name, value in alert.evidence.items() %}{{ name }} = {{ value }}\n{% endfor %}"
        "{% for name, url in alert.links.items() %}{{ name }}: {{ url }}\n{% endfor %}"
    ),
}
LIMITS = {
    "slack": 40_000,
    "discord": 2_000,
    "telegram": 4_096,
    "pagerduty": 1_024,
    "email": 100_000,
    "subject": 250,
}
"""Characters each channel accepts in one message (PagerDuty: the summary)."""
ELLIPSIS = "…"

_environment = SandboxedEnvironment(autoescape=False, trim_blocks=False)


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)] + ELLIPSIS


def check_template(source: str) -> None:
    """RuleError when `source` is not a valid template (at load, not at the first alert)."""
    try:
        _environment.parse(source)
    except TemplateError as exc:
        raise RuleError(f"the channel's template is invalid: {exc.message}") from None


def render(
    alert: Alert, kind: str, *, template: str | None = None, limit: int | None = None
) -> str:
    """`template` (else the default for `kind`: "text" or "subject") rendered for `alert`."""
    source = template or DEFAULT_TEMPLATES[kind]
    context: dict[str, Any] = {"alert": alert.model_dump(mode="json")}
    try:
        text = _environment.from_string(source).render(context)
    except TemplateError as exc:
        text = f"(template failed: {exc.message}) " + _environment.from_string(
            DEFAULT_TEMPLATES[kind]
        ).render(context)
    return truncate(text.strip(), limit) if limit is not None else text.strip()
