"""`vkpipe alerts`: rules that watch the stored comments and send to webhooks, Telegram, email."""

from __future__ import annotations

import json
from datetime import time
from typing import Annotated, Any, Final

import typer
from pydantic import ValidationError
from rich.table import Table
from sqlalchemy import Engine

from parser_pipeline.alerts import service
from parser_pipeline.alerts.channels import Sender
from parser_pipeline.alerts.delivery import run_alerts
from parser_pipeline.alerts.render import rules_table
from parser_pipeline.alerts.rules import AlertOptions, AlertRuleSpec
from parser_pipeline.cli.base import EXIT_USAGE, console, fail, settings_of
from parser_pipeline.cli.filter_options import (
    AuthorOpt,
    CategoryOpt,
    DeletedOpt,
    GroupOpt,
    KeywordIdOpt,
    KeywordOpt,
    MatchedOpt,
    comment_filter_of,
)
from parser_pipeline.services import open_engine
from parser_pipeline.settings import Settings
from parser_pipeline.store.comment_filter import DeletedMode, first_error
from parser_pipeline.store.names import AlertMode
from parser_pipeline.values import parse_cli_bound

alerts_app = typer.Typer(
    help="Alert rules: send new, digested, spiking or deleted comments to webhooks, Telegram, "
    "email.",
    no_args_is_help=True,
)

# One alert pass of the single process sends for at most this long (a receiver that is down
# times out per message); what is left waits for the next crawl or `vkpipe alerts deliver`.
PASS_MAX_SECONDS: Final = 120.0

RuleArg = Annotated[str, typer.Argument(help="The rule's name or id.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _print_json(value: Any) -> None:
    console.print_json(json.dumps(value, default=str, ensure_ascii=False))


def alert_pass(engine: Engine, settings: Settings) -> None:
    """Sweep the rules and deliver what is due, in this process (embedded mode, after a crawl)."""
    summary = run_alerts(engine, settings, Sender(settings), max_seconds=PASS_MAX_SECONDS)
    if summary.delivered or summary.failed or summary.dead or summary.deferred:
        console.print(
            f"alerts: {summary.delivered} delivered, {summary.failed} to retry, "
            f"{summary.dead} dead-lettered, {summary.deferred} held by a rate limit",
            markup=False,
        )


@alerts_app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A unique name for the rule.")],
    channel: Annotated[
        list[str],
        typer.Option(
            "--channel",
            "-C",
            help="webhook:<URL>, telegram:<chat id> or email:<address>; repeatable.",
        ),
    ],
    mode: Annotated[
        AlertMode,
        typer.Option(
            "--mode", "-m", help="instant, digest, spike (this hour above mean + k·σ) or deleted."
        ),
    ] = AlertMode.instant,
    group: GroupOpt = None,
    keyword: KeywordOpt = None,
    keyword_id: KeywordIdOpt = None,
    category: CategoryOpt = None,
    matched_only: MatchedOpt = False,
    author: AuthorOpt = None,
    deleted: DeletedOpt = DeletedMode.include,
    every_minutes: Annotated[
        int | None, typer.Option("--every-minutes", help="digest: every N minutes (default 60).")
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="digest: once a day at HH:MM (UTC).")
    ] = None,
    min_count: Annotated[
        int | None,
        typer.Option("--min-count", help="digest, spike: send only with at least N comments."),
    ] = None,
    top: Annotated[int, typer.Option("--top", help="digest, spike: comments listed.")] = 10,
    window_hours: Annotated[
        int, typer.Option("--window-hours", help="spike: hours of history.")
    ] = 24,
    k: Annotated[
        float, typer.Option("--k", help="spike: standard deviations above the mean.")
    ] = 3.0,
    quiet_hours: Annotated[
        str | None,
        typer.Option("--quiet-hours", help="HH:MM-HH:MM (UTC): hold messages until it ends."),
    ] = None,
    cooldown: Annotated[
        int, typer.Option("--cooldown", help="Seconds between two messages of the rule.")
    ] = 0,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", help="Also send comments stored since this ISO date-time (default: now)."
        ),
    ] = None,
) -> None:
    """Add a rule; it starts from now (or --since) and never replays older comments."""
    engine = open_engine(settings_of(ctx))
    comment_filter = comment_filter_of(
        engine,
        group=group,
        since=None,
        until=None,
        keyword=keyword,
        keyword_id=keyword_id,
        category=category,
        matched_only=matched_only,
        author=author,
        deleted=deleted,
        review_state=None,
        tag=None,
    )
    start = parse_cli_bound(since, name="--since", end=False) if since else None
    try:
        spec = AlertRuleSpec(
            name=name,
            mode=mode,
            filter=comment_filter,
            channels=service.parse_channels(channel),
            options=AlertOptions(
                every_minutes=every_minutes,
                at=time.fromisoformat(at) if at else None,
                min_count=min_count,
                top=top,
                window_hours=window_hours,
                k=k,
            ),
            quiet_hours=quiet_hours,
            cooldown_seconds=cooldown,
        )
    except ValidationError as exc:
        fail(f"alert rule: {first_error(exc)}", EXIT_USAGE)
    except ValueError:
        fail(f"--at {at!r} is not a time of day; use HH:MM (UTC)", EXIT_USAGE)
    view = service.add(engine, spec, since=start)
    console.print(
        f"added alert rule {view['id']} {view['name']!r} ({view['mode']}) to "
        f"{', '.join(view['channels'])}; it starts at {view['starts_at']:%Y-%m-%d %H:%M:%S} UTC",
        markup=False,
    )


@alerts_app.command("list")
def list_(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Show every rule with its deliveries per status."""
    views = service.list_all(open_engine(settings_of(ctx)))
    if as_json:
        _print_json(views)
        return
    if not views:
        console.print("no alert rules; add one with `vkpipe alerts add NAME --channel ...`")
        return
    console.print(rules_table(views))


@alerts_app.command("show")
def show(ctx: typer.Context, rule: RuleArg) -> None:
    """Show one rule, its filter and its ten latest deliveries (JSON)."""
    _print_json(service.show(open_engine(settings_of(ctx)), rule))


@alerts_app.command("test")
def test(ctx: typer.Context, rule: RuleArg) -> None:
    """Send a sample message to each of the rule's channels now; exit 1 if one failed."""
    settings = settings_of(ctx)
    results = service.send_test(open_engine(settings), Sender(settings), rule)
    for result in results:
        state = "ok" if result.ok else f"FAILED: {result.error}"
        console.print(f"{result.channel}: {state}", markup=False)
    if not all(r.ok for r in results):
        raise typer.Exit(1)


@alerts_app.command("pause")
def pause(ctx: typer.Context, rule: RuleArg) -> None:
    """Stop a rule from writing alerts (what it already wrote is still delivered)."""
    view = service.set_paused(open_engine(settings_of(ctx)), rule, True)
    console.print(f"paused alert rule {view['id']} {view['name']!r}", markup=False)


@alerts_app.command("resume")
def resume(ctx: typer.Context, rule: RuleArg) -> None:
    """Start a paused rule again, from now: what it missed while paused is not sent."""
    view = service.set_paused(open_engine(settings_of(ctx)), rule, False)
    console.print(f"resumed alert rule {view['id']} {view['name']!r} from now", markup=False)


@alerts_app.command("remove")
def remove(ctx: typer.Context, rule: RuleArg) -> None:
    """Delete a rule with its pending deliveries and its history."""
    view = service.remove(open_engine(settings_of(ctx)), rule)
    console.print(f"removed alert rule {view['id']} {view['name']!r}", markup=False)


@alerts_app.command("history")
def history(
    ctx: typer.Context,
    rule: Annotated[str | None, typer.Argument(help="Only this rule (name or id).")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="pending, delivered or dead.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
    as_json: JsonOpt = False,
) -> None:
    """The latest deliveries, newest first: status, attempts, the last error (dead letters)."""
    rows = service.history(open_engine(settings_of(ctx)), rule, status, limit)
    if as_json:
        _print_json(rows)
        return
    if not rows:
        console.print("no deliveries")
        return
    table = Table("id", "rule", "channel", "type", "status", "attempts", "created", "last error")
    for r in rows:
        table.add_row(
            str(r["id"]), str(r["rule"]), r["channel"], str(r["type"]), r["status"],
            str(r["attempts"]), f"{r['created_at']:%Y-%m-%d %H:%M:%S}", r["last_error"] or "",
        )  # fmt: skip
    console.print(table)


@alerts_app.command("deliver")
def deliver(ctx: typer.Context) -> None:
    """Run one alert pass now in this process: digests, spikes, deletions, due deliveries."""
    settings = settings_of(ctx)
    engine = open_engine(settings)
    summary = run_alerts(engine, settings, Sender(settings), max_seconds=PASS_MAX_SECONDS)
    console.print(
        f"alerts: {summary.written} written by the sweep, {summary.delivered} delivered, "
        f"{summary.failed} to retry, {summary.dead} dead-lettered, {summary.deferred} held",
        markup=False,
    )


@alerts_app.command("secret")
def secret() -> None:
    """Print a new webhook signing secret for VKPIPE_ALERTS_WEBHOOK_SECRETS."""
    console.print(service.new_webhook_secret(), markup=False)
