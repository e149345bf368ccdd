"""After a crawl of the emulator's `standard` world, the stored matches equal an oracle's.

On PostgreSQL, the production database: what is matched does not depend on the database, and
how matches are stored is tested on both (test_analyze_service.py and the rest of analyze/).

The oracle reads the emulator's ground truth and applies the same rules the slow, obvious way:
pymorphy3 called directly, every rule tried at every word, no automaton, no caches.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

import pymorphy3  # type: ignore[import-untyped]
import pytest
from sqlalchemy import Engine, select

from analysisdata import add_rule
from parser_pipeline.analyze.service import RuleCache, analyze_comments
from parser_pipeline.crawl.groups import register_groups
from parser_pipeline.crawl.runner import crawl_groups
from parser_pipeline.emulator import Emulator, EmulatorConfig, run_emulator
from parser_pipeline.settings import load_settings
from parser_pipeline.store import groups as group_store
from parser_pipeline.store.groups import CrawlSettings
from parser_pipeline.store.schema import keyword_matches, vk_comments
from parser_pipeline.vk.client import VkClient

TOKENS = ("oracle-token-a", "oracle-token-b")

# (phrase, mode, case_sensitive, category, exclusion)
RULES = [
    ("выборы", "word_forms", False, "politics", False),
    ("мэр", "word_forms", False, "power", False),
    ("Выборы", "word_forms", True, "politics", False),
    ("деньги", "word_forms", False, "power", True),
    ("дорога", "word_forms", False, "roads", False),
    ("ремонт дороги", "word_forms", False, "roads", False),
    ("горячая вода", "word_forms", False, "utilities", False),
    ("депутаты", "word_forms", False, "politics", False),
    ("школа", "word_forms", False, "education", False),
    ("мэра", "exact_word", False, "power", False),
    ("ещё", "exact_word", False, "misc", False),
    ("iPhone", "exact_word", True, "misc", False),
    ("Кто-нибудь", "exact_word", False, "misc", False),
    ("школ", "substring", False, "education", False),
    ("NULL", "substring", True, "misc", False),
    ("😂", "substring", False, "misc", False),
]

MORPH = pymorphy3.MorphAnalyzer(lang="ru")
WORD = re.compile(r"[^\W_]+(?:[-\u2010\u2011'\u2019][^\W_]+)*")
RUN = re.compile(r"[^\W_]+")


def yo(text: str) -> str:
    return text.replace("ё", "е").replace("Ё", "Е")


def low(text: str) -> str:
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in yo(text))


@functools.cache  # the oracle would otherwise spend minutes in pymorphy3 on repeated words
def lemmas(word: str) -> frozenset[str]:
    return frozenset(low(p.normal_form) for p in MORPH.parse(low(word)))


def keyword_lemmas(word: str) -> frozenset[str]:
    return frozenset({low(word)}) if low(word) in lemmas(word) else lemmas(word)


def case_shape(word: str) -> str:
    letters = [c for c in word if c.isalpha() and c.lower() != c.upper()]
    uppers = [c.isupper() for c in letters]
    if not any(uppers):
        return "lower"
    if len(letters) > 1 and all(uppers):
        return "upper"
    if uppers[0] and not any(uppers[1:]):
        return "title"
    return "mixed"


def same_word(rule: tuple[Any, ...], keyword_word: str, surface: str) -> bool:
    _, mode, cased, _, _ = rule
    if mode == "exact_word":
        return yo(surface) == yo(keyword_word) if cased else low(surface) == low(keyword_word)
    if cased and case_shape(surface) != case_shape(keyword_word):
        return False
    return bool(keyword_lemmas(keyword_word) & lemmas(surface))


@functools.cache  # many comments share a text
def oracle(text: str, rule_items: tuple[tuple[int, tuple[Any, ...]], ...]) -> frozenset[Any]:
    """(keyword_id, start, end) of every match, by brute force."""
    rules = dict(rule_items)
    words = list(WORD.finditer(text))
    # each word: its whole span and, when hyphenated, each part's span
    spans = [
        [(w.start(), w.end())] + [(w.start() + p.start(), w.start() + p.end())
                                  for p in RUN.finditer(w.group()) if w.group() != p.group()]
        for w in words
    ]  # fmt: skip
    found: dict[tuple[int, int], int] = {}
    for keyword_id, rule in rules.items():
        phrase, mode, cased = rule[0], rule[1], rule[2]
        if mode == "substring":
            haystack, needle = (yo(text), yo(phrase)) if cased else (low(text), low(phrase))
            at = haystack.find(needle)
            while at >= 0:
                found[(keyword_id, at)] = at + len(needle)
                at = haystack.find(needle, at + 1)
            continue
        parts = phrase.split()
        for i in range(len(words) - len(parts) + 1):
            ok = all(
                text[words[i + j - 1].end() : words[i + j].start()].isspace()
                for j in range(1, len(parts))
            )
            if not ok:
                continue
            firsts = [s for s in spans[i] if same_word(rule, parts[0], text[s[0] : s[1]])]
            lasts = [(words[i].start(), words[i].end())] if len(parts) == 1 else []
            if len(parts) > 1:
                middle_ok = all(
                    any(same_word(rule, parts[j], text[s[0] : s[1]]) for s in spans[i + j])
                    for j in range(1, len(parts) - 1)
                )
                last = spans[i + len(parts) - 1]
                lasts = [s for s in last if same_word(rule, parts[-1], text[s[0] : s[1]])]
                if not middle_ok:
                    continue
            for start, first_end in firsts:
                for _, end in lasts:
                    end = first_end if len(parts) == 1 else end
                    if found.get((keyword_id, start), -1) < end:
                        found[(keyword_id, start)] = end
    return frozenset((k, s, e) for (k, s), e in found.items())


def oracle_count(matched: set[int], rules: dict[int, tuple[Any, ...]]) -> int:
    excluded = {rules[k][3] for k in matched if rules[k][4]}
    return len({k for k in matched if not rules[k][4] and rules[k][3] not in excluded})


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    """One read-only world (nothing advances its clock)."""
    config = EmulatorConfig(scenario="standard", seed=3, tokens=TOKENS, rate_limit_per_second=None)
    with run_emulator(config) as emu:
        yield emu


@pytest.fixture
def client(emulator: Emulator) -> Iterator[VkClient]:
    settings = load_settings(
        vk_api_url=emulator.base_url, vk_tokens=",".join(TOKENS), vk_rps_per_token=100
    )
    vk = VkClient.from_settings(settings)
    yield vk
    vk.close()


def test_matches_after_a_crawl_equal_the_oracle(
    pg_engine: Engine, client: VkClient, emulator: Emulator
) -> None:
    engine = pg_engine
    names = sorted(emulator.world.group_screen_names())
    register_groups(engine, client, [(name, CrawlSettings()) for name in names])
    with engine.connect() as connection:
        crawl_groups(engine, client, group_store.list_groups(connection))
    rules = {
        add_rule(engine, p, mode=m, case=c, category=cat, exclude=x): (p, m, c, cat, x)
        for p, m, c, cat, x in RULES
    }
    summary = analyze_comments(engine, cache=RuleCache())

    truth = emulator.truth()["comments"]
    expected: set[tuple[Any, ...]] = set()
    expected_counts: dict[tuple[int, int], int] = {}
    for row in truth:
        key = (row["owner_id"], row["comment_id"])
        text = row["text"]
        found = oracle(text, tuple(sorted(rules.items())))
        expected |= {(*key, k, s, e, text[s:e]) for k, s, e in found}
        expected_counts[key] = oracle_count({k for k, _, _ in found}, rules)

    km, c = keyword_matches.c, vk_comments.c
    with engine.connect() as connection:
        stored = {
            tuple(r)
            for r in connection.execute(
                select(km.owner_id, km.comment_id, km.keyword_id, km.start, km.end, km.matched_text)
            )
        }
        counts = {
            (r.owner_id, r.comment_id): r.matched_keywords_count
            for r in connection.execute(select(c.owner_id, c.comment_id, c.matched_keywords_count))
        }
    assert summary.comments == len(truth) > 1000
    assert len(expected) > 1000
    assert {k for _, _, k, *_ in expected} == set(rules)  # every rule matched somewhere
    assert stored == expected
    assert counts == expected_counts
    assert 0 < sum(1 for n in counts.values() if n) < len(counts)
