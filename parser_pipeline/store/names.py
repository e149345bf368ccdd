"""Enumerations the database stores, each named once, and the one check of a name a user typed.

The tables (schema.py) constrain their columns to these values; the CLI, the API and the
export writers list them from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Final

from parser_pipeline.errors import ConfigError


class ExportFormat(StrEnum):
    """An export file format; its value is also the file name extension."""

    csv = "csv"
    jsonl = "jsonl"
    parquet = "parquet"
    xlsx = "xlsx"

    @property
    def media_type(self) -> str:
        return _MEDIA_TYPES[self]


_MEDIA_TYPES: Final = {
    ExportFormat.csv: "text/csv",
    ExportFormat.jsonl: "application/x-ndjson",
    ExportFormat.parquet: "application/vnd.apache.parquet",
    ExportFormat.xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
EXPORT_FORMATS: Final = tuple(f.value for f in ExportFormat)


class ReviewState(StrEnum):
    """Where a comment is in a reviewer's work; a comment nobody reviewed is `new`."""

    new = "new"
    in_progress = "in_progress"
    done = "done"
    irrelevant = "irrelevant"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


REVIEW_STATES: Final = tuple(s.value for s in ReviewState)


def export_format(text: str) -> ExportFormat:
    """The format named `text`; ConfigError naming it and the formats there are."""
    try:
        return ExportFormat(text)
    except ValueError:
        raise ConfigError(
            f"unknown export format {text!r}; use one of {', '.join(EXPORT_FORMATS)}"
        ) from None


def check_status(status: str, allowed: Sequence[str], what: str) -> str:
    """`status` if it is one of `allowed`; ConfigError naming it, `what` it is a status of,
    and the statuses there are."""
    if status not in allowed:
        raise ConfigError(f"unknown {what} status {status!r}; use one of {', '.join(allowed)}")
    return status


class AlertMode(StrEnum):
    """What makes an alert rule send: each new comment, a periodic digest, a spike in the
    hourly count, or a watched comment that VK deleted."""

    instant = "instant"
    digest = "digest"
    spike = "spike"
    deleted = "deleted"


ALERT_MODES: Final = tuple(m.value for m in AlertMode)


class ChannelKind(StrEnum):
    """Where an alert goes."""

    webhook = "webhook"
    telegram = "telegram"
    email = "email"


CHANNEL_KINDS: Final = tuple(k.value for k in ChannelKind)


class DeliveryStatus(StrEnum):
    """An outbox row: waiting (or retrying), delivered, or given up after the retry window."""

    pending = "pending"
    delivered = "delivered"
    dead = "dead"


DELIVERY_STATUSES: Final = tuple(s.value for s in DeliveryStatus)
