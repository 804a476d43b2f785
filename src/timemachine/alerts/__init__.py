"""Alerts: rule matches become alerts (threshold windows, cooldowns, one alert per tx), stored
with their delivery history, and delivered to webhook, e-mail, Slack, Discord, Telegram and
PagerDuty channels with retries, backoff, rate limits and dead letters."""

from timemachine.alerts.channels import ChannelSender, Outcome
from timemachine.alerts.clock import Clock, SystemClock
from timemachine.alerts.delivery import Deliveries, DeliverySettings
from timemachine.alerts.model import Alert
from timemachine.alerts.notifier import ALERTS_CHANNEL, Notifier

__all__ = [
    "ALERTS_CHANNEL",
    "Alert",
    "ChannelSender",
    "Clock",
    "Deliveries",
    "DeliverySettings",
    "Notifier",
    "Outcome",
    "SystemClock",
]
