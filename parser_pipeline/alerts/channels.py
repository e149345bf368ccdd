"""Sending one alert to one channel: a signed webhook, a Telegram message, an email.

`Sender.send(channel, target, delivery_id, payload)` returns when the channel took it and
raises AlertDeliveryError otherwise, with the receiver's own wait when it named one. Library
errors stop here (requests, smtplib): the message names the channel kind and the cause, never
the bot token (it is in Telegram's URL), a secret or a chat id.

Webhooks follow the Standard Webhooks specification: `webhook-id` (the delivery id, the same on
every retry, for receivers to deduplicate), `webhook-timestamp`, and `webhook-signature` with
one `v1,` signature per configured secret, so a secret can be rotated with both valid.
"""

from __future__ import annotations

import json
import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any, Final

import requests
from standardwebhooks.webhooks import Webhook

from parser_pipeline.alerts.decisions import parse_retry_after
from parser_pipeline.alerts.render import headline, html_message, telegram_text, text_message
from parser_pipeline.errors import AlertDeliveryError, ConfigError
from parser_pipeline.settings import Settings
from parser_pipeline.store.names import ChannelKind

# Characters of a receiver's error answer kept in the delivery's last error.
ERROR_BODY_CHARS: Final = 200
USER_AGENT: Final = "vkpipe-alerts"


def webhook_body(delivery_id: str, payload: dict[str, Any]) -> str:
    """The JSON a webhook receives: the payload with its delivery id."""
    return json.dumps({**payload, "id": delivery_id}, ensure_ascii=False, separators=(",", ":"))


def sign(secrets: list[str], delivery_id: str, moment: datetime, body: str) -> str:
    """The `webhook-signature` header: one `v1,…` signature per secret, space-separated."""
    return " ".join(Webhook(s).sign(delivery_id, moment, body) for s in secrets)


class Sender:
    """Sends alerts with the channels' settings; one HTTP session per process."""

    def __init__(self, settings: Settings, session: requests.Session | None = None) -> None:
        self._settings = settings
        self._session = session or requests.Session()
        self._session.headers["User-Agent"] = USER_AGENT

    def send(self, channel: str, target: str, delivery_id: str, payload: dict[str, Any]) -> None:
        kind = ChannelKind(channel)
        if kind is ChannelKind.webhook:
            self._webhook(target, delivery_id, payload)
        elif kind is ChannelKind.telegram:
            self._telegram(target, payload)
        else:
            self._email(target, delivery_id, payload)

    # ---- webhook --------------------------------------------------------------------------------

    def _webhook(self, url: str, delivery_id: str, payload: dict[str, Any]) -> None:
        secrets = [s.get_secret_value() for s in self._settings.alerts_webhook_secrets]
        if not secrets:
            raise AlertDeliveryError(
                "webhook: no signing secret; set VKPIPE_ALERTS_WEBHOOK_SECRETS "
                "(make one with `vkpipe alerts secret`)"
            )
        moment = datetime.now(UTC)
        body = webhook_body(delivery_id, payload)
        headers = {
            "content-type": "application/json",
            "webhook-id": delivery_id,
            "webhook-timestamp": str(int(moment.timestamp())),
            "webhook-signature": sign(secrets, delivery_id, moment, body),
        }
        try:
            answer = self._session.post(
                url,
                data=body.encode(),
                headers=headers,
                timeout=self._settings.alerts_webhook_timeout_seconds,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise AlertDeliveryError(f"webhook: {type(exc).__name__}") from None
        if 200 <= answer.status_code < 300:
            return
        raise AlertDeliveryError(
            f"webhook: HTTP {answer.status_code}",
            retry_after=parse_retry_after(answer.headers.get("Retry-After"), datetime.now(UTC)),
        )

    # ---- telegram -------------------------------------------------------------------------------

    def _telegram(self, chat_id: str, payload: dict[str, Any]) -> None:
        token = self._settings.alerts_telegram_bot_token
        if token is None:
            raise AlertDeliveryError("telegram: no bot token; set VKPIPE_ALERTS_TELEGRAM_BOT_TOKEN")
        url = f"{self._settings.alerts_telegram_api_url}/bot{token.get_secret_value()}/sendMessage"
        body = {"chat_id": chat_id, "text": telegram_text(payload), "link_preview_options": {
            "is_disabled": True}}  # fmt: skip
        try:
            answer = self._session.post(
                url, json=body, timeout=self._settings.alerts_webhook_timeout_seconds
            )
            result = answer.json()
        except requests.RequestException as exc:
            raise AlertDeliveryError(f"telegram: {type(exc).__name__}") from None
        except ValueError:
            raise AlertDeliveryError(f"telegram: HTTP {answer.status_code}, not JSON") from None
        if isinstance(result, dict) and result.get("ok") is True:
            return
        described = result if isinstance(result, dict) else {}
        parameters = described.get("parameters") or {}
        retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
        text = str(described.get("description", ""))[:ERROR_BODY_CHARS]
        raise AlertDeliveryError(
            f"telegram: HTTP {answer.status_code} {text}".rstrip(),
            retry_after=float(retry_after) if isinstance(retry_after, int | float) else None,
        )

    # ---- email ----------------------------------------------------------------------------------

    def _email(self, address: str, delivery_id: str, payload: dict[str, Any]) -> None:
        s = self._settings
        if not s.alerts_smtp_host:
            raise AlertDeliveryError("email: no SMTP server; set VKPIPE_ALERTS_SMTP_HOST")
        message = EmailMessage()
        message["Subject"] = headline(payload)[:200]
        message["From"] = s.alerts_smtp_from
        message["To"] = address
        # Receivers (and people) can tell a retry of the same alert by its Message-ID.
        message["Message-ID"] = f"<{delivery_id}@vkpipe>"
        message.set_content(text_message(payload))
        message.add_alternative(html_message(payload), subtype="html")
        timeout = s.alerts_webhook_timeout_seconds
        ca = str(s.alerts_smtp_ca_file) if s.alerts_smtp_ca_file else None
        try:
            context = ssl.create_default_context(cafile=ca)
            if s.alerts_smtp_security == "tls":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.alerts_smtp_host, s.alerts_smtp_port, timeout=timeout, context=context
                )
            else:
                client = smtplib.SMTP(s.alerts_smtp_host, s.alerts_smtp_port, timeout=timeout)
            with client:
                if s.alerts_smtp_security == "starttls":
                    client.starttls(context=context)
                if s.alerts_smtp_user and s.alerts_smtp_password is not None:
                    client.login(s.alerts_smtp_user, s.alerts_smtp_password.get_secret_value())
                client.send_message(message)
        except smtplib.SMTPResponseException as exc:
            raise AlertDeliveryError(f"email: SMTP {exc.smtp_code}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise AlertDeliveryError(f"email: {type(exc).__name__}") from None


def check_channel_settings(settings: Settings, kind: ChannelKind) -> None:
    """ConfigError naming the setting a channel of this kind needs, if it is missing."""
    if kind is ChannelKind.webhook and not settings.alerts_webhook_secrets:
        raise ConfigError(
            "webhook alerts are signed: set VKPIPE_ALERTS_WEBHOOK_SECRETS "
            "(make one with `vkpipe alerts secret`)"
        )
    if kind is ChannelKind.telegram and settings.alerts_telegram_bot_token is None:
        raise ConfigError("telegram alerts need VKPIPE_ALERTS_TELEGRAM_BOT_TOKEN")
    if kind is ChannelKind.email and not settings.alerts_smtp_host:
        raise ConfigError("email alerts need VKPIPE_ALERTS_SMTP_HOST (and port, user, password)")
