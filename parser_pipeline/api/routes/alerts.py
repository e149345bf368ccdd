"""/alerts: alert rules (list, get, add, pause, resume, delete, test) and /alert-deliveries.

Channels are answered masked (a chat id by its last four characters, a webhook URL without
its query); deliveries without their target or payload. Channel secrets are settings only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from parser_pipeline.alerts import service
from parser_pipeline.alerts import store as alert_store
from parser_pipeline.alerts.channels import Sender
from parser_pipeline.alerts.rules import MAX_CHANNELS, AlertOptions, AlertRuleSpec, Channel, Name
from parser_pipeline.api.auth import Reader, Writer
from parser_pipeline.api.deps import State
from parser_pipeline.api.errors import conflict, invalid
from parser_pipeline.api.params import AlertRuleId
from parser_pipeline.errors import ConfigError
from parser_pipeline.store.comment_filter import CommentFilter, field_error
from parser_pipeline.store.names import AlertMode, DeliveryStatus
from parser_pipeline.values import utc

router = APIRouter(tags=["alerts"], dependencies=[Reader])

# What the schema can say of a channel (`kind:target`) and of quiet hours; the rest is checked
# by the rule model (a URL, a chat id, an address; two different times of day).
CHANNEL_PATTERN: Final = r"^(webhook|telegram|email):\S+$"
QUIET_PATTERN: Final = r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$"


class AlertRuleCreate(BaseModel):
    """A new rule; channels as `kind:target` (webhook:URL, telegram:CHAT, email:ADDRESS)."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    mode: AlertMode = AlertMode.instant
    filter: CommentFilter = CommentFilter()
    channels: list[
        Annotated[str, Field(min_length=3, max_length=2100, pattern=CHANNEL_PATTERN)]
    ] = Field(min_length=1, max_length=MAX_CHANNELS)
    options: AlertOptions = AlertOptions()
    quiet_hours: str | None = Field(
        None, max_length=32, pattern=QUIET_PATTERN, description="HH:MM-HH:MM UTC"
    )
    cooldown_seconds: int = Field(0, ge=0, le=7 * 86400)
    since: datetime | None = Field(None, description="also send comments stored since then")


class AlertRuleOut(BaseModel):
    id: int
    name: str
    mode: AlertMode
    filter: dict[str, Any]
    options: dict[str, Any]
    channels: list[str] = Field(description="masked: no chat id, no URL query")
    quiet_hours: str | None
    cooldown_seconds: int
    paused: bool
    starts_at: datetime
    last_fired_at: datetime | None
    created_at: datetime
    deliveries: dict[str, int] = Field(default_factory=dict, description="per status")
    recent: list[DeliveryOut] | None = None


class DeliveryOut(BaseModel):
    id: int
    delivery_id: str = Field(description="the same on every retry (webhook-id)")
    rule_id: int | None
    rule: str | None
    channel: str
    type: str | None
    comments: int
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_error: str | None


class ChannelTest(BaseModel):
    channel: str
    ok: bool
    error: str | None


AlertRuleOut.model_rebuild()


@router.get("/alerts", response_model=list[AlertRuleOut])
def list_rules(state: State) -> list[dict[str, Any]]:
    """Every alert rule with its deliveries per status."""
    return service.list_all(state.engine)


@router.get("/alerts/{rule_id:int}", response_model=AlertRuleOut)
def get_rule(state: State, rule_id: AlertRuleId) -> dict[str, Any]:
    """One rule with its ten latest deliveries."""
    return service.show(state.engine, str(rule_id))


@router.post("/alerts", response_model=AlertRuleOut, status_code=201, dependencies=[Writer])
def add_rule(state: State, body: AlertRuleCreate) -> dict[str, Any]:
    """Add a rule; it starts from now (or `since`); 409 if the name is taken."""
    channels = []
    for index, text in enumerate(body.channels):
        try:
            channels.append(Channel.parse(text))
        except ConfigError as exc:
            raise invalid(f"channels.{index}", str(exc)) from None
    try:
        spec = AlertRuleSpec(
            name=body.name,
            mode=body.mode,
            filter=body.filter,
            channels=tuple(channels),
            options=body.options,
            quiet_hours=body.quiet_hours,
            cooldown_seconds=body.cooldown_seconds,
        )
    except ValidationError as exc:
        field, message = field_error(exc)
        raise invalid(field or "body", message) from None
    with state.engine.connect() as connection:
        taken = [r.id for r in alert_store.list_rules(connection) if r.name == spec.name]
    if taken:
        raise conflict("alert_rule_exists", f"alert rule {spec.name!r} exists", rule_id=taken[0])
    return service.add(state.engine, spec, since=utc(body.since) if body.since else None)


@router.post("/alerts/{rule_id:int}/pause", response_model=AlertRuleOut, dependencies=[Writer])
def pause_rule(state: State, rule_id: AlertRuleId) -> dict[str, Any]:
    """Stop the rule writing alerts (what it wrote is still delivered)."""
    return service.set_paused(state.engine, str(rule_id), True)


@router.post("/alerts/{rule_id:int}/resume", response_model=AlertRuleOut, dependencies=[Writer])
def resume_rule(state: State, rule_id: AlertRuleId) -> dict[str, Any]:
    """Start the rule again from now: what it missed is not sent."""
    return service.set_paused(state.engine, str(rule_id), False)


@router.delete("/alerts/{rule_id:int}", response_model=AlertRuleOut, dependencies=[Writer])
def delete_rule(state: State, rule_id: AlertRuleId) -> dict[str, Any]:
    """Delete the rule, its pending deliveries and its history."""
    return service.remove(state.engine, str(rule_id))


@router.post("/alerts/{rule_id:int}/test", response_model=list[ChannelTest], dependencies=[Writer])
def test_rule(state: State, rule_id: AlertRuleId) -> list[ChannelTest]:
    """Send a sample message to each of the rule's channels now; each channel's outcome."""
    results = service.send_test(state.engine, Sender(state.settings), str(rule_id))
    return [ChannelTest(channel=r.channel, ok=r.ok, error=r.error) for r in results]


@router.get("/alert-deliveries", response_model=list[DeliveryOut])
def list_deliveries(
    state: State,
    rule_id: Annotated[int | None, Query(ge=1, le=2**53 - 1, description="only this rule")] = None,
    status: Annotated[DeliveryStatus | None, Query(description="pending, delivered, dead")] = None,
    limit: Annotated[int, Query(ge=1, le=alert_store.MAX_HISTORY)] = 50,
) -> list[dict[str, Any]]:
    """Deliveries, newest first: status, attempts, the last error (dead letters included)."""
    return service.history(
        state.engine, str(rule_id) if rule_id else None, status.value if status else None, limit
    )
