"""`vkpipe demo`: the whole pipeline on a laptop — SQLite, no servers, the bundled VK emulator."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from pydantic import SecretStr
from rich.table import Table

from parser_pipeline.analyze.rules import KeywordSpec
from parser_pipeline.analyze.service import analyze_comments
from parser_pipeline.analyze.stats import top_keywords
from parser_pipeline.analyze.store import add_keywords
from parser_pipeline.cli.alerts import alert_pass
from parser_pipeline.cli.api import DEFAULT_HOST, DEFAULT_PORT
from parser_pipeline.cli.base import console, settings_of
from parser_pipeline.cli.crawl import print_report, run_crawl
from parser_pipeline.crawl.groups import register_groups
from parser_pipeline.emulator import EmulatorConfig, run_emulator
from parser_pipeline.export.service import export as export_comments
from parser_pipeline.services import open_engine, vk_client
from parser_pipeline.settings import Settings
from parser_pipeline.store import groups as group_store
from parser_pipeline.store import migrations
from parser_pipeline.store.api_keys import create_key
from parser_pipeline.store.comment_filter import CommentFilter
from parser_pipeline.store.engine import transaction
from parser_pipeline.store.groups import CrawlSettings
from parser_pipeline.store.names import ExportFormat
from parser_pipeline.store.summary import summary

# How far the demo moves the emulated world's clock before its last crawl.
DAY_SECONDS = 86_400
# The emulator accepts exactly these tokens; they are not VK tokens and unlock nothing else.
DEMO_TOKENS = ("demo-token-1", "demo-token-2")
# What the demo watches for: words the emulator's Russian comments use in many forms.
DEMO_KEYWORDS = (
    KeywordSpec("выборы", "politics"),
    KeywordSpec("мэр города", "politics"),
    KeywordSpec("дорога", "city"),
    KeywordSpec("школа", "city"),
    KeywordSpec("реклама", "city", is_exclusion=True),
)


def demo(
    ctx: typer.Context,
    workdir: Annotated[
        Path, typer.Option("--dir", help="Where the demo keeps its database (made anew).")
    ] = Path("vkpipe-demo"),
    scenario: Annotated[
        str, typer.Option("--scenario", help="Emulator world: small, standard or large.")
    ] = "small",
    serve: Annotated[
        bool, typer.Option("--serve", help="Then serve the API and the workspace until Ctrl-C.")
    ] = False,
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="The port --serve listens on.")
    ] = DEFAULT_PORT,
) -> None:
    """Crawl the emulator's groups into a fresh SQLite database three times, match keywords,
    export, report."""
    if scenario not in ("small", "standard", "large"):
        raise typer.BadParameter("must be small, standard or large", param_hint="--scenario")
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    database_url = f"sqlite:///{(workdir / 'vkpipe.db').resolve()}"
    emulator = EmulatorConfig(scenario=scenario, seed=1, tokens=DEMO_TOKENS)
    with run_emulator(emulator) as emu:
        settings = settings_of(ctx).model_copy(
            update={
                "database_url": database_url,
                "broker_url": None,
                "redis_url": None,
                "vk_api_url": emu.base_url,
                "vk_tokens": tuple(SecretStr(token) for token in DEMO_TOKENS),
                "vk_tokens_file": None,
            }
        )
        console.print(f"[bold]vkpipe demo[/]: emulator at {emu.base_url}, database {database_url}")
        migrations.upgrade(database_url)
        engine = open_engine(settings)
        with transaction(engine) as connection:
            add_keywords(connection, DEMO_KEYWORDS)
        console.print(
            "keywords: "
            + ", ".join(
                f"{'-' if k.is_exclusion else ''}{k.phrase} ({k.category})" for k in DEMO_KEYWORDS
            )
        )
        with vk_client(settings) as client:
            names = sorted(emu.world.group_screen_names())
            resolutions = register_groups(engine, client, [(n, CrawlSettings()) for n in names])
            added = [r.group for r in resolutions if r.group is not None]
            console.print(f"added {len(added)} groups: " + ", ".join(g.name for g in added))

            with engine.connect() as connection:
                rows = group_store.list_groups(connection)

            # The crawler's clock is the emulated world's, so post ages and tiers are its own.
            def world_clock() -> datetime:
                return datetime.fromtimestamp(emu.world.now, UTC)

            first = run_crawl(engine, client, settings, rows, clock=world_clock)
            print_report(first)
            analyzed = analyze_comments(engine)
            console.print(
                f"analysis: {analyzed.comments} comments, {analyzed.matched_comments} with "
                f"matches, {analyzed.matches} matches"
            )

            change = emu.advance()
            console.print(
                f"\nan hour later the emulated VK has moved on: {len(change['new_posts'])} new "
                f"posts, {change['new_comments']} new comments, {change['deleted_comments']} "
                "deleted; crawling again: the top of each wall, and the posts whose age says "
                "their counts are due (young ones every crawl, old ones daily)"
            )
            second = run_crawl(engine, client, settings, rows, clock=world_clock)
            print_report(second)
            emu.pass_time(DAY_SECONDS)
            console.print("\na day later: the old posts' counts are due too; crawling again")
            third = run_crawl(engine, client, settings, rows, clock=world_clock)
            print_report(third)
            analyze_comments(engine)
            alert_pass(engine, settings)

        files = []
        for fmt in ExportFormat:
            out = (workdir / f"comments.{fmt}").resolve()
            result = export_comments(engine, CommentFilter(), fmt, out)
            files.append(f"{out.name} ({result.rows} rows)")
        matched_out = (workdir / "matched.csv").resolve()
        matched_file = export_comments(engine, CommentFilter(matched_only=True), "csv", matched_out)
        files.append(f"{matched_out.name} ({matched_file.rows} rows with keyword matches)")
        console.print(f"exported to {workdir.resolve()}: " + ", ".join(files))

        with engine.connect() as connection:
            top = top_keywords(connection, CommentFilter())
        table = Table("keyword", "category", "matches", "comments", title="top keywords")
        for row in top:
            table.add_row(row.phrase, row.category, str(row.matches), str(row.comments))
        console.print(table)

        with engine.connect() as connection:
            stored = summary(connection)
    console.print(
        f"\n[bold]done[/]: {stored.groups} groups, {stored.posts} posts, "
        f"{stored.comments} comments ({stored.deleted_comments} marked deleted, "
        f"{stored.matched_comments} with keyword matches), {stored.authors} authors in "
        f"{database_url}\nVK requests: first crawl {first.requests}, an hour later "
        f"{second.requests}, a day later {third.requests}"
    )
    if not (first.ok and second.ok and third.ok):
        raise typer.Exit(1)
    _workspace(settings, serve=serve, port=port)


def _workspace(settings: Settings, *, serve: bool, port: int) -> None:
    """A key to sign in with and where: printed once (only its hash is stored); then, with
    `serve`, the API and the workspace on loopback until Ctrl-C."""
    engine = open_engine(settings)
    try:
        created = create_key(engine, "demo", read_only=False, now=datetime.now(UTC))
    finally:
        engine.dispose()
    url = f"http://{DEFAULT_HOST}:{port}/workspace/"
    start = "" if serve else f" after `vkpipe api serve --port {port}`"
    console.print(
        f"\nworkspace: {url}{start} (VKPIPE_DATABASE_URL={settings.database_url})\n"
        f"sign in with the API key {created.key}",
        markup=False,
        highlight=False,
    )
    if serve:
        import uvicorn  # only --serve needs the server

        from parser_pipeline.web.app import create_app

        console.print("serving until Ctrl-C", markup=False)
        uvicorn.run(
            create_app(settings), host=DEFAULT_HOST, port=port, log_config=None, proxy_headers=False
        )
