"""Benchmark: the matching engine vs a naive loop of one compiled regex per rule, one core.

Run: `.venv/bin/python -m bench analysis [--quick]` (or `-m bench.analysis`). 1,000 rules
(word_forms words and two-word phrases, exact words, substrings, case-sensitive rules and
exclusions) over 100,000 generated Russian comments (quick: 20,000): the emulator's sentences
mixed with inflected forms of a city-life vocabulary, punctuation, emoji and Latin words.
- engine: `MatchEngine.match` over every comment, after a first (untimed) pass that fills the
  lemma cache, as a long-lived analyze worker has it;
- naive: the same lemmatizer (same warm cache) builds a lemma string and a folded text per
  comment, then one compiled regular expression per rule runs over it (`finditer`); timed on a
  sample of 3,000 comments (quick: 1,000), since it is that much slower. Its match count is
  printed beside the engine's: they differ a little because the naive loop ignores the case
  shape of case-sensitive `word_forms` rules (it only has to cost the same, not be as right).
Times are the process's CPU time (one core, whatever else the machine runs), best of 3
rounds (quick: 2). Figures: the speed ratio (goal ≥ 20), the engine's comments per second,
and the process's peak RSS (lemma cache, word memo, automaton and the comments themselves).
"""

from __future__ import annotations

import argparse
import random
import re
import resource
import time
from collections.abc import Sequence
from typing import Any

from parser_pipeline.analyze.engine import MatchEngine
from parser_pipeline.analyze.morphology import Lemmatizer, default_lemmatizer
from parser_pipeline.analyze.rules import Rule, phrase_words
from parser_pipeline.analyze.text import WORD_RE, fold, fold_yo
from parser_pipeline.emulator.text import normal_text

RULES = 1000
COMMENTS_FULL = 100_000
COMMENTS_QUICK = 20_000
NAIVE_SAMPLE_FULL = 3_000
NAIVE_SAMPLE_QUICK = 1_000
# Rounds of engine and naive, interleaved; the best of each counts (the machine may be shared).
ROUNDS_FULL = 3
ROUNDS_QUICK = 2
GOAL_RATIO = 20.0
SEED = 20261129

# Lemmas of what people write under city news; their forms fill the comments and the rules.
_VOCABULARY_TEXT = (
    "город район двор улица дорога тротуар мост остановка автобус трамвай маршрут пробка "
    "светофор парковка машина водитель школа учитель ученик директор детский сад больница "
    "поликлиника врач очередь лекарство аптека мэр мэрия администрация депутат губернатор "
    "чиновник выборы голос участок кандидат партия закон налог тариф пенсия зарплата цена "
    "магазин рынок ремонт стройка дом подъезд лифт крыша подвал вода отопление свет газ мусор "
    "снег лёд уборка дворник парк сквер лавочка фонарь площадка собака кошка полиция авария "
    "пожар скорая помощь новость газета телевизор интернет сеть связь телефон деньги бюджет "
    "проект план обещание жалоба письмо ответ вопрос проблема решение работа завод фабрика "
    "библиотека музей театр концерт праздник выходной неделя месяц год весна лето осень зима "
    "утро вечер ночь человек житель сосед ребёнок мама папа бабушка дедушка друг семья"
)
_ADJECTIVES_TEXT = (
    "новый старый большой маленький хороший плохой городской районный местный главный "
    "горячий холодный дорогой дешёвый грязный чистый тёмный светлый разбитый пустой"
)
_FILLER_TEXT = (
    "и в на не что как а но уже опять снова когда где почему зачем только даже тоже ещё всё "
    "очень так вот это там тут у к по за из от до для про без через"
)
_VOCABULARY = _VOCABULARY_TEXT.split()
_ADJECTIVES = _ADJECTIVES_TEXT.split()
_FILLER = _FILLER_TEXT.split()
_EMOJI = ("😡", "👍", "😂", "🙏", "🔥", "🤦‍♂️", "❤️", "👏🏻")
_LATIN = ("ok", "WiFi", "iPhone", "Telegram", "online", "lol")


def _forms(lemmatizer: Lemmatizer) -> dict[str, list[str]]:
    """Every form of every vocabulary lemma (pymorphy3's lexeme of its likeliest parse)."""
    analyzer = lemmatizer._analyzer  # the bench generates text; matching uses the public API
    forms: dict[str, list[str]] = {}
    for lemma in (*_VOCABULARY, *_ADJECTIVES):
        parse = analyzer.parse(lemma)[0]
        forms[lemma] = sorted({f.word for f in parse.lexeme})
    return forms


def make_comments(count: int, forms: dict[str, list[str]], rng: random.Random) -> list[str]:
    lemmas = list(forms)
    comments: list[str] = []
    for _ in range(count):
        if rng.random() < 0.4:
            comments.append(normal_text(rng))
            continue
        words: list[str] = []
        for _ in range(rng.randint(3, 20)):
            roll = rng.random()
            if roll < 0.55:
                words.append(rng.choice(_FILLER))
            elif roll < 0.97:
                words.append(rng.choice(forms[rng.choice(lemmas)]))
            else:
                words.append(rng.choice(_LATIN))
            if rng.random() < 0.08:
                words[-1] += rng.choice((",", ".", "!", "?", ":"))
        if rng.random() < 0.2:
            words.append(rng.choice(_EMOJI))
        text = " ".join(words)
        comments.append(text[:1].upper() + text[1:])
    return comments


# Rules watch the first nouns of the vocabulary; comments talk about all of it, so that about
# half of them match something, as on a busy city wall.
RULE_NOUNS = 50


def make_rules(count: int, forms: dict[str, list[str]], rng: random.Random) -> list[Rule]:
    """`count` distinct rules in the proportions users write them."""
    nouns = _VOCABULARY[:RULE_NOUNS]
    seen: set[tuple[str, str, bool]] = set()
    rules: list[Rule] = []
    categories = [f"cat{i}" for i in range(20)]
    while len(rules) < count:
        roll = rng.random()
        cased = rng.random() < 0.05
        if roll < 0.30:
            phrase, mode = rng.choice(nouns), "word_forms"
        elif roll < 0.70:
            phrase, mode = f"{rng.choice(_ADJECTIVES)} {rng.choice(nouns)}", "word_forms"
        elif roll < 0.85:
            phrase, mode = rng.choice(forms[rng.choice(nouns)]), "exact_word"
        else:
            phrase, mode = rng.choice(nouns)[: rng.randint(4, 6)], "substring"
        if (phrase, mode, cased) in seen:
            continue
        seen.add((phrase, mode, cased))
        exclusion = rng.random() < 0.03
        rules.append(Rule(len(rules) + 1, phrase, rng.choice(categories), mode, cased, exclusion))
    return rules


class NaiveMatcher:
    """One compiled regular expression per rule over a lemma string and the folded text."""

    def __init__(self, rules: Sequence[Rule], lemmatizer: Lemmatizer) -> None:
        self._lemmatizer = lemmatizer
        self._patterns: list[tuple[int, str, re.Pattern[str]]] = []
        for rule in rules:
            if rule.match_mode == "word_forms":
                parts = [
                    "<(?:[^<>]*\\|)?(?:"
                    + "|".join(re.escape(lemma) for lemma in sorted(lemmatizer.keyword_lemmas(w)))
                    + ")(?:\\|[^<>]*)?>"
                    for w in phrase_words(rule.phrase)
                ]
                self._patterns.append((rule.id, "lemmas", re.compile(" ".join(parts))))
            elif rule.match_mode == "exact_word":
                key = fold_yo(rule.phrase) if rule.case_sensitive else fold(rule.phrase)
                pattern = re.compile(r"(?<![^\W_])" + re.escape(key) + r"(?![^\W_])")
                self._patterns.append(
                    (rule.id, "cased" if rule.case_sensitive else "folded", pattern)
                )
            else:
                key = fold_yo(rule.phrase) if rule.case_sensitive else fold(rule.phrase)
                pattern = re.compile(re.escape(key))
                self._patterns.append(
                    (rule.id, "cased" if rule.case_sensitive else "folded", pattern)
                )

    def match(self, text: str) -> list[tuple[int, int]]:
        tokens: list[str] = []
        previous_end = None
        for found in WORD_RE.finditer(text):
            if previous_end is not None and not text[previous_end : found.start()].isspace():
                tokens.append("#")  # a phrase does not cross punctuation
            previous_end = found.end()
            lemmas = self._lemmatizer.lemmas(fold(found.group()))
            tokens.append("<" + "|".join(sorted(lemmas)) + ">")
        haystacks = {"lemmas": " ".join(tokens), "folded": fold(text), "cased": fold_yo(text)}
        return [
            (rule_id, m.start())
            for rule_id, kind, pattern in self._patterns
            for m in pattern.finditer(haystacks[kind])
        ]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def measure(quick: bool) -> dict[str, Any]:
    rng = random.Random(SEED)
    lemmatizer = default_lemmatizer()
    forms = _forms(lemmatizer)
    comments = make_comments(COMMENTS_QUICK if quick else COMMENTS_FULL, forms, rng)
    rules = make_rules(RULES, forms, rng)
    sample = comments[: NAIVE_SAMPLE_QUICK if quick else NAIVE_SAMPLE_FULL]

    started = time.process_time()
    engine = MatchEngine(rules, lemmatizer)
    compile_seconds = time.process_time() - started

    started = time.process_time()
    for text in comments:
        engine.match(text)
    cold_seconds = time.process_time() - started

    naive = NaiveMatcher(rules, lemmatizer)
    engine_seconds = naive_seconds = float("inf")
    for _ in range(ROUNDS_QUICK if quick else ROUNDS_FULL):  # interleaved, best of each
        started = time.process_time()
        engine_matches = 0
        matched_comments = 0
        for text in comments:
            found = engine.match(text)
            engine_matches += len(found)
            matched_comments += engine.counted_keywords(found) > 0
        engine_seconds = min(engine_seconds, time.process_time() - started)
        started = time.process_time()
        naive_matches = sum(len(naive.match(text)) for text in sample)
        naive_seconds = min(naive_seconds, time.process_time() - started)
    sample_engine_matches = sum(len(engine.match(text)) for text in sample)
    return {
        "comments": len(comments),
        "sample": len(sample),
        "rules": len(rules),
        "compile_seconds": compile_seconds,
        "cold_seconds": cold_seconds,
        "engine_rate": len(comments) / engine_seconds,
        "naive_rate": len(sample) / naive_seconds,
        "engine_matches": engine_matches,
        "matched_comments": matched_comments,
        "naive_sample_matches": naive_matches,
        "engine_sample_matches": sample_engine_matches,
        "peak_rss_mb": _peak_rss_mb(),
    }


def figures(m: dict[str, Any]) -> list[dict[str, Any]]:
    ratio = m["engine_rate"] / m["naive_rate"]
    where = (
        f"{m['rules']:,} rules, {m['comments']:,} comments ({m['matched_comments']:,} with "
        f"counted matches, {m['engine_matches']:,} matches), one core"
    )
    return [
        {
            "name": "analysis_vs_naive",
            "value": round(ratio, 1),
            "unit": "× naive speed",
            "baseline": round(m["naive_rate"], 1),
            "baseline_unit": "comments/s naive",
            "ratio": None,
            "goal": f"≥ {GOAL_RATIO:g}",
            "met": ratio >= GOAL_RATIO,
            "detail": (
                f"engine {m['engine_rate']:,.0f} comments/s vs one regex per rule "
                f"{m['naive_rate']:,.0f} comments/s on {m['sample']:,} of them (matches there: "
                f"engine {m['engine_sample_matches']:,}, naive {m['naive_sample_matches']:,}); "
                f"{where}"
            ),
        },
        {
            "name": "analysis_comments_per_second",
            "value": round(m["engine_rate"]),
            "unit": "comments/s",
            "baseline": round(m["naive_rate"], 1),
            "baseline_unit": "comments/s naive",
            "ratio": None,
            "goal": None,
            "met": None,
            "detail": (
                f"warm lemma cache; the first pass (cold cache) ran at "
                f"{m['comments'] / m['cold_seconds']:,.0f} comments/s; compiling the rules took "
                f"{m['compile_seconds']:.2f} s; {where}"
            ),
        },
        {
            "name": "analysis_peak_rss_mb",
            "value": round(m["peak_rss_mb"], 1),
            "unit": "MB",
            "baseline": None,
            "ratio": None,
            "goal": None,
            "met": None,
            "detail": "peak RSS of the process: dictionaries, caches, automaton and the comments",
        },
    ]


def run(quick: bool) -> list[dict[str, Any]]:
    return figures(measure(quick))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help=f"{COMMENTS_QUICK:,} comments")
    args = parser.parse_args()
    for f in run(args.quick):
        print(f"{f['name']}: {f['value']} {f['unit']} (goal {f['goal']}, met {f['met']})")
        print(f"    {f['detail']}")
