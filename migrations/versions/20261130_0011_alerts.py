"""Alerts: rules over stored comments, what each rule has seen, the delivery outbox, channels.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
MODES = "mode IN ('instant', 'digest', 'spike', 'deleted')"
CHANNELS = "channel IN ('webhook', 'telegram', 'email')"
STATUSES = "status IN ('pending', 'delivered', 'dead')"


def upgrade() -> None:
    op.create_table(
        "alert_rules",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("filter", JSON, nullable=False, comment="a CommentFilter as JSON"),
        sa.Column("options", JSON, nullable=False, comment="the mode's parameters"),
        sa.Column("channels", JSON, nullable=False, comment="[{kind, target}]"),
        sa.Column(
            "quiet_hours",
            sa.String(length=32),
            nullable=True,
            comment="HH:MM-HH:MM UTC; NULL: none",
        ),
        sa.Column("cooldown_seconds", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("is_paused", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("starts_at", TS, nullable=False, comment="comments stored before are not sent"),
        sa.Column("last_fired_at", TS, nullable=True, comment="the last message written for it"),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(MODES, name=op.f("ck_alert_rules_mode_values")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_rules")),
        sa.UniqueConstraint("name", name=op.f("uq_alert_rules_name")),
    )
    op.create_table(
        "alert_seen",
        sa.Column("rule_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("owner_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("comment_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("seen_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["alert_rules.id"],
            name=op.f("fk_alert_seen_rule_id_alert_rules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("rule_id", "owner_id", "comment_id", name=op.f("pk_alert_seen")),
    )
    op.create_table(
        "alert_deliveries",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column(
            "delivery_id", sa.String(length=64), nullable=False, comment="stable across retries"
        ),
        sa.Column("rule_id", sa.BigInteger(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("target", sa.Text(), nullable=False, comment="URL, chat id or address"),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column(
            "first_stored_at", TS, nullable=True, comment="the earliest comment's first_seen_at"
        ),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("leased_until", TS, nullable=True, comment="a worker is sending it until then"),
        sa.Column("delivered_at", TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint(CHANNELS, name=op.f("ck_alert_deliveries_channel_values")),
        sa.CheckConstraint(STATUSES, name=op.f("ck_alert_deliveries_status_values")),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["alert_rules.id"],
            name=op.f("fk_alert_deliveries_rule_id_alert_rules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_deliveries")),
    )
    op.create_index(
        "uq_alert_deliveries_delivery_id", "alert_deliveries", ["delivery_id"], unique=True
    )
    op.create_index("ix_alert_deliveries_due", "alert_deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_alert_deliveries_rule", "alert_deliveries", ["rule_id", "id"])
    op.create_table(
        "alert_channels",
        sa.Column(
            "key", sa.String(length=64), nullable=False, comment="SHA-256 of kind and target"
        ),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column(
            "hold_until", TS, nullable=True, comment="rate limited (429, Retry-After) until then"
        ),
        sa.Column("failing_since", TS, nullable=True, comment="NULL: the last attempt worked"),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_alert_channels")),
    )


def downgrade() -> None:
    op.drop_table("alert_channels")
    op.drop_index("ix_alert_deliveries_rule", table_name="alert_deliveries")
    op.drop_index("ix_alert_deliveries_due", table_name="alert_deliveries")
    op.drop_index("uq_alert_deliveries_delivery_id", table_name="alert_deliveries")
    op.drop_table("alert_deliveries")
    op.drop_table("alert_seen")
    op.drop_table("alert_rules")
