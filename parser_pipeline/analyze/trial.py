"""Trying rules without storing anything, and importing them: what the API and the workspace share.

`try_rules` runs a set of rules over a text (a rule being written, or every active stored rule)
and says what each finds, where, and which keywords count. `import_rules` adds the rules of a
keywords CSV (the format of `vkpipe keywords import`) and reports every line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Engine

from parser_pipeline.analyze import store as keyword_store
from parser_pipeline.analyze.engine import MatchEngine
from parser_pipeline.analyze.rules import KeywordSpec, Rule, parse_keywords_csv
from parser_pipeline.groups_import import ImportProblem
from parser_pipeline.store.engine import transaction

# The id the rule under test gets in the matching engine; stored ids start at 1.
TRIAL_RULE_ID: Final = 0


@dataclass(frozen=True, slots=True)
class TrialMatch:
    rule: Rule
    start: int
    end: int
    matched_text: str
    context: str


@dataclass(frozen=True, slots=True)
class Trial:
    """What `rules` rules found in a text, and how many distinct keywords count (no exclusion
    of their category matched)."""

    rules: int
    matches: list[TrialMatch]
    counted_keywords: int


def trial_rule(spec: KeywordSpec) -> Rule:
    """A rule being written, as the engine takes it (id TRIAL_RULE_ID)."""
    return Rule(
        TRIAL_RULE_ID, spec.phrase, spec.category, spec.match_mode, spec.case_sensitive,
        spec.is_exclusion,
    )  # fmt: skip


def try_rules(rules: Sequence[Rule], text: str) -> Trial:
    """What `rules` find in `text`, in text order; nothing is stored."""
    engine = MatchEngine(rules)
    found = engine.match(text)
    matches = [
        TrialMatch(engine.rules[m.keyword_id], m.start, m.end, m.matched_text, m.context)
        for m in found
    ]
    return Trial(len(rules), matches, engine.counted_keywords(found))


@dataclass(frozen=True, slots=True)
class ImportedLine:
    """A line of an imported keywords CSV that is a valid rule: added, or there already."""

    line: int
    phrase: str
    keyword_id: int
    created: bool


def import_rules(engine: Engine, text: str) -> tuple[list[ImportedLine], list[ImportProblem]]:
    """Add every valid rule of a keywords CSV in one transaction; the lines that are not rules
    come back as problems (identical rules are kept, not duplicated)."""
    rows, problems = parse_keywords_csv(text)
    if not rows:
        return [], problems
    with transaction(engine) as connection:
        added = keyword_store.add_keywords(connection, [row.spec for row in rows])
    return [
        ImportedLine(row.line, row.spec.phrase, outcome.id, outcome.created)
        for row, outcome in zip(rows, added, strict=True)
    ], problems
