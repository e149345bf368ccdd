"""/keywords: list, get, add, update, delete, import a CSV, and test a rule on a text."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, File, Query, UploadFile

from parser_pipeline.analyze import store as keyword_store
from parser_pipeline.analyze.rules import MAX_CATEGORY_CHARS, KeywordSpec, make_spec
from parser_pipeline.analyze.trial import import_rules, trial_rule, try_rules
from parser_pipeline.api import models
from parser_pipeline.api.auth import Reader, Writer
from parser_pipeline.api.deps import State
from parser_pipeline.api.errors import conflict, invalid
from parser_pipeline.api.limits import read_text_upload
from parser_pipeline.api.params import NO_NUL, KeywordId, QueryText
from parser_pipeline.api.views import keyword_out
from parser_pipeline.store.engine import transaction

router = APIRouter(prefix="/keywords", tags=["keywords"], dependencies=[Reader])

REMATCH_HINT: Final = (
    "stored comments are matched against the changed rules after `vkpipe analyze --rematch`"
)


def _spec(field: str, body: models.KeywordCreate | KeywordSpec) -> KeywordSpec:
    """A valid rule (make_spec cleans the phrase); 422 naming `field` when it is not."""
    try:
        return make_spec(
            body.phrase,
            body.category,
            body.match_mode,
            case_sensitive=body.case_sensitive,
            is_exclusion=body.is_exclusion,
        )
    except ValueError as exc:
        raise invalid(field, str(exc)) from None


@router.get("", response_model=list[models.KeywordOut])
def list_keywords(
    state: State,
    category: Annotated[
        QueryText | None,
        Query(max_length=MAX_CATEGORY_CHARS, json_schema_extra=NO_NUL),
    ] = None,
) -> list[models.KeywordOut]:
    """Every rule, active or not, with its number of stored matches."""
    with state.engine.connect() as connection:
        rows = keyword_store.list_keywords(connection, category)
    return [keyword_out(r) for r in rows]


@router.get("/{keyword_id:int}", response_model=models.KeywordOut)
def get_keyword(state: State, keyword_id: KeywordId) -> models.KeywordOut:
    with state.engine.connect() as connection:
        row = keyword_store.get_keyword(connection, keyword_id)
        return keyword_out(row, keyword_store.match_count(connection, keyword_id))


@router.post("", response_model=models.KeywordOut, status_code=201, dependencies=[Writer])
def add_keyword(state: State, body: models.KeywordCreate) -> models.KeywordOut:
    """Add a rule; 409 if an identical one (phrase, category, mode, flags) exists."""
    spec = _spec("phrase", body)
    with transaction(state.engine) as connection:
        (added,) = keyword_store.add_keywords(connection, [spec])
        if not added.created:  # raising rolls back add_keywords' reactivation too
            raise conflict(
                "keyword_exists", f"keyword {added.id} is this rule already", keyword_id=added.id
            )
        row = keyword_store.get_keyword(connection, added.id)
    return keyword_out(row, 0)


@router.patch("/{keyword_id:int}", response_model=models.KeywordChanged, dependencies=[Writer])
def update_keyword(
    state: State, keyword_id: KeywordId, body: models.KeywordUpdate
) -> models.KeywordChanged:
    """Change a rule; its stored matches are dropped and their comments analyzed again."""
    changes = body.model_dump(exclude_unset=True)
    with transaction(state.engine) as connection:
        before = keyword_store.get_keyword(connection, keyword_id)
        merged = KeywordSpec(
            phrase=changes.get("phrase", before.phrase),
            category=changes.get("category", before.category),
            match_mode=changes.get("match_mode", before.match_mode),
            case_sensitive=changes.get("case_sensitive", before.case_sensitive),
            is_exclusion=changes.get("is_exclusion", before.is_exclusion),
        )
        spec = _spec("phrase", merged)
        same = keyword_store.find_rule(connection, spec)
        if same is not None and same != keyword_id:
            raise conflict(
                "keyword_exists", f"keyword {same} is this rule already", keyword_id=same
            )
        active = bool(changes.get("is_active", before.is_active))
        row, requeued = keyword_store.update_keyword(connection, keyword_id, spec, active)
        changed = tuple(row) != tuple(before)
        matches = 0 if changed else keyword_store.match_count(connection, keyword_id)
    return models.KeywordChanged(
        keyword=keyword_out(row, matches),
        requeued=requeued,
        hint=REMATCH_HINT if changed and row.is_active else None,
    )


@router.delete("/{keyword_id:int}", response_model=models.KeywordChanged, dependencies=[Writer])
def delete_keyword(state: State, keyword_id: KeywordId) -> models.KeywordChanged:
    """Delete a rule and its matches; the comments it matched are analyzed again."""
    with transaction(state.engine) as connection:
        _, requeued = keyword_store.remove_keywords(connection, [keyword_id])
    return models.KeywordChanged(keyword=None, requeued=requeued)


@router.post("/import", response_model=models.ImportReport, dependencies=[Writer])
def import_keywords(
    state: State,
    file: Annotated[
        UploadFile, File(description="CSV: phrase[,category,mode,case_sensitive,exclude]")
    ],
) -> models.ImportReport:
    """Add every rule of a CSV file; identical rules are kept; a line per row."""
    upload = read_text_upload(file)
    imported, problems = import_rules(state.engine, upload.text)
    lines = [
        models.ImportLine(line=p.line, status="rejected", message=p.message)
        for p in [*upload.problems, *problems]
    ]
    lines += [
        models.ImportLine(
            line=row.line,
            text=row.phrase,
            status="added" if row.created else "exists",
            id=row.keyword_id,
        )
        for row in imported
    ]
    lines.sort(key=lambda line: line.line)
    return models.ImportReport(
        added=sum(line.status == "added" for line in lines),
        updated=0,
        rejected=sum(line.status == "rejected" for line in lines),
        lines=lines,
    )


@router.post("/test", response_model=models.RuleTestResult)
def test_rule(state: State, body: models.RuleTest) -> models.RuleTestResult:
    """What a rule (or every active stored rule) finds in a text, and where. Changes nothing."""
    if body.rule is not None:
        rules = [trial_rule(_spec("rule.phrase", body.rule))]
    else:
        with state.engine.connect() as connection:
            rules = keyword_store.active_rules(connection)
    trial = try_rules(rules, body.text)
    return models.RuleTestResult(
        rules=trial.rules,
        matches=[
            models.RuleMatch(
                keyword_id=None if body.rule is not None else m.rule.id,
                phrase=m.rule.phrase,
                category=m.rule.category,
                is_exclusion=m.rule.is_exclusion,
                start=m.start,
                end=m.end,
                matched_text=m.matched_text,
                context=m.context,
            )
            for m in trial.matches
        ],
        counted_keywords=trial.counted_keywords,
    )
