"""`vkpipe keywords`: add, list, remove, import and export the keyword rules."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from parser_pipeline.analyze import store as keyword_store
from parser_pipeline.analyze.rules import keywords_csv, make_spec, parse_keywords_csv
from parser_pipeline.cli.base import EXIT_USAGE, console, fail, print_error, settings_of
from parser_pipeline.groups_import import readable_lines
from parser_pipeline.services import open_engine
from parser_pipeline.store.engine import transaction

keywords_app = typer.Typer(
    help="The keyword rules comments are matched against.", no_args_is_help=True
)

REMATCH_HINT = "run `vkpipe analyze --rematch` to apply the change to stored comments"


class Mode(StrEnum):
    word_forms = "word_forms"
    exact_word = "exact_word"
    substring = "substring"


@keywords_app.command("add")
def add(
    ctx: typer.Context,
    phrase: Annotated[str, typer.Argument(help="A word or a phrase.")],
    category: Annotated[str, typer.Option("--category", "-c", help="Its category.")] = "",
    mode: Annotated[
        Mode,
        typer.Option(
            "--mode",
            "-m",
            help="word_forms: any form of each word; exact_word: as written; substring: anywhere.",
        ),
    ] = Mode.word_forms,
    case_sensitive: Annotated[
        bool, typer.Option("--case-sensitive", help="Letter case must match.")
    ] = False,
    exclude: Annotated[
        bool,
        typer.Option(
            "--exclude", help="A minus word: comments it matches do not count for the category."
        ),
    ] = False,
) -> None:
    """Add a keyword rule (an existing identical rule is kept)."""
    try:
        spec = make_spec(
            phrase, category, mode.value, case_sensitive=case_sensitive, is_exclusion=exclude
        )
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
    engine = open_engine(settings_of(ctx))
    with transaction(engine) as connection:
        (added,) = keyword_store.add_keywords(connection, [spec])
    state = "added" if added.created else "already there:"
    console.print(f"{state} keyword {added.id} {spec.phrase!r} ({spec.match_mode})", markup=False)
    if added.created:
        console.print(REMATCH_HINT, markup=False)


@keywords_app.command("list")
def list_(
    ctx: typer.Context,
    category: Annotated[
        str | None, typer.Option("--category", "-c", help="Only this category.")
    ] = None,
) -> None:
    """Show the rules with their stored matches."""
    engine = open_engine(settings_of(ctx))
    with engine.connect() as connection:
        rows = keyword_store.list_keywords(connection, category)
    table = Table("id", "phrase", "category", "mode", "case", "kind", "active", "matches")
    for row in rows:
        table.add_row(
            str(row.id),
            Text(row.phrase),
            Text(row.category),
            row.match_mode,
            "sensitive" if row.case_sensitive else "any",
            "exclude" if row.is_exclusion else "match",
            "yes" if row.is_active else "no",
            str(row.matches),
        )
    console.print(table)


@keywords_app.command("remove")
def remove(
    ctx: typer.Context,
    ids: Annotated[list[int], typer.Argument(help="Keyword ids (see `vkpipe keywords list`).")],
) -> None:
    """Delete rules and their matches; the comments they matched are analyzed again."""
    engine = open_engine(settings_of(ctx))
    with transaction(engine) as connection:
        rows, requeued = keyword_store.remove_keywords(connection, ids)
    for row in rows:
        console.print(f"removed keyword {row.id} {row.phrase!r}", markup=False)
    if requeued:
        console.print(
            f"{requeued} comment(s) wait for analysis again: run `vkpipe analyze`", markup=False
        )


@keywords_app.command("import")
def import_csv(
    ctx: typer.Context,
    path: Annotated[
        Path, typer.Argument(help="CSV: phrase[,category,mode,case_sensitive,exclude]")
    ],
) -> None:
    """Add every rule of a CSV file; bad rows are reported by line, good rows are added."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
    text, unreadable = readable_lines(data)
    rows, problems = parse_keywords_csv(text)
    problems = sorted([*unreadable, *problems], key=lambda problem: problem.line)
    for problem in problems:
        print_error(f"{path}:{problem.line}: {problem.message}")
    created = 0
    if rows:
        engine = open_engine(settings_of(ctx))
        with transaction(engine) as connection:
            added = keyword_store.add_keywords(connection, [row.spec for row in rows])
        created = sum(a.created for a in added)
    console.print(
        f"{created} added, {len(rows) - created} already there, {len(problems)} rejected",
        markup=False,
    )
    if created:
        console.print(REMATCH_HINT, markup=False)
    if problems:
        raise typer.Exit(1)


@keywords_app.command("export")
def export(
    ctx: typer.Context,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")
    ] = None,
) -> None:
    """Print the active rules as CSV (the format `keywords import` reads)."""
    engine = open_engine(settings_of(ctx))
    with engine.connect() as connection:
        rules = keyword_store.active_rules(connection)
    body = keywords_csv(rules)
    if output is None:
        typer.echo(body, nl=False)
        return
    try:
        output.write_text(body, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    console.print(f"{len(rules)} keyword(s) written to {output}", markup=False)
