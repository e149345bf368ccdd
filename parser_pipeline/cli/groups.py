"""`vkpipe groups`: add (resolved through VK), list, pause, resume, remove and import groups."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from parser_pipeline.cli.base import console, fail, print_error, settings_of
from parser_pipeline.services import forget_cached_group, open_engine, vk_client
from parser_pipeline.store import groups as group_store
from parser_pipeline.store.engine import transaction
from parser_pipeline.store.groups import CrawlSettings

# Resolving groups needs the VK client; `groups list` and friends start without it.
if TYPE_CHECKING:
    from parser_pipeline.crawl.groups import Resolution

groups_app = typer.Typer(help="The VK communities vkpipe monitors.", no_args_is_help=True)

Interval = Annotated[
    int | None, typer.Option("--interval", min=1, max=1440, help="Minutes between crawls.")
]
Priority = Annotated[
    int | None, typer.Option("--priority", min=1, max=10, help="1 (low) to 10 (high).")
]
MaxAge = Annotated[
    int | None,
    typer.Option("--max-post-age-days", min=1, help="Read comments of posts this recent only."),
]
Refs = Annotated[list[str], typer.Argument(help="Screen names, ids, club123 or vk.com links.")]


def _report(resolutions: list[Resolution], lines: list[int] | None = None) -> int:
    """Print what was added and one line per problem; the number of problems."""
    problems = 0
    for index, resolution in enumerate(resolutions):
        where = f"line {lines[index]}: " if lines else ""
        if resolution.group is None:
            problems += 1
            print_error(f"{where}{resolution.problem}")
        else:
            group = resolution.group
            console.print(f"added {group.id} {group.screen_name or ''} — {group.name}")
    return problems


@groups_app.command("add")
def add(
    ctx: typer.Context,
    refs: Refs,
    interval: Interval = None,
    priority: Priority = None,
    max_post_age_days: MaxAge = None,
) -> None:
    """Resolve communities through VK and start monitoring them."""
    from parser_pipeline.crawl.groups import register_groups

    settings = settings_of(ctx)
    crawl = CrawlSettings(interval, priority, max_post_age_days)
    engine = open_engine(settings)
    with vk_client(settings) as client:
        resolutions = register_groups(engine, client, [(ref, crawl) for ref in refs])
    if _report(resolutions):
        raise typer.Exit(1)


@groups_app.command("import")
def import_csv(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="CSV: group[,interval,priority,max_post_age_days]")],
) -> None:
    """Add every group of a CSV file; bad rows are reported by line, good rows are added."""
    from parser_pipeline.crawl.groups import register_groups
    from parser_pipeline.groups_import import parse_groups_csv, readable_lines

    settings = settings_of(ctx)
    try:
        data = path.read_bytes()
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
    text, unreadable = readable_lines(data)
    rows, problems = parse_groups_csv(text)
    problems = sorted([*unreadable, *problems], key=lambda problem: problem.line)
    for problem in problems:
        print_error(f"{path}:{problem.line}: {problem.message}")
    resolutions: list[Resolution] = []
    if rows:
        engine = open_engine(settings)
        with vk_client(settings) as client:
            resolutions = register_groups(engine, client, [(r.group, r.settings) for r in rows])
    unresolved = _report(resolutions, [r.line for r in rows])
    rejected = unresolved + len(problems)
    console.print(f"{len(resolutions) - unresolved} added, {rejected} rejected")
    if rejected:
        raise typer.Exit(1)


@groups_app.command("list")
def list_(ctx: typer.Context) -> None:
    """Show the monitored groups with their schedule and last error."""
    engine = open_engine(settings_of(ctx))
    with engine.connect() as connection:
        rows = group_store.list_groups(connection)
    table = Table("id", "screen name", "name", "active", "every", "prio", "last crawl", "error")
    for row in rows:
        table.add_row(
            str(row.id),
            row.screen_name or "",
            row.name or "",
            "yes" if row.is_active else "paused",
            _interval(row.crawl_interval_minutes, row.effective_interval_minutes),
            str(row.priority),
            row.last_crawled_at.strftime("%Y-%m-%d %H:%M") if row.last_crawled_at else "never",
            (row.last_error or "")[:60],
        )
    console.print(table)


def _interval(configured: int, effective: int | None) -> str:
    """The configured interval, and the one the VK budget stretched it to, if it did."""
    if effective is None or effective == configured:
        return f"{configured} min"
    return f"{configured} min (stretched to {effective})"


def _change(ctx: typer.Context, refs: list[str], verb: str) -> None:
    settings = settings_of(ctx)
    engine = open_engine(settings)
    with transaction(engine) as connection:
        rows = group_store.find_groups(connection, refs)
        ids = [row.id for row in rows]
        if verb == "removed":
            group_store.remove_groups(connection, ids)
        else:
            group_store.set_active(connection, ids, verb == "resumed")
    for row in rows:
        forget_cached_group(settings, row.id)
        console.print(f"{verb} {row.id} {row.screen_name or ''}")


@groups_app.command("pause")
def pause(ctx: typer.Context, refs: Refs) -> None:
    """Stop crawling groups on schedule (their data stays)."""
    _change(ctx, refs, "paused")


@groups_app.command("resume")
def resume(ctx: typer.Context, refs: Refs) -> None:
    """Crawl paused groups on schedule again."""
    _change(ctx, refs, "resumed")


@groups_app.command("remove")
def remove(ctx: typer.Context, refs: Refs) -> None:
    """Stop monitoring groups; their posts and comments stay in the database."""
    _change(ctx, refs, "removed")
