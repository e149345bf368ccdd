"""The matching engine on real Russian sentences: forms, phrases, case, ё, boundaries, offsets."""

from __future__ import annotations

from parser_pipeline.analyze.engine import MatchEngine
from parser_pipeline.analyze.rules import Rule


def rule(
    rule_id: int,
    phrase: str,
    mode: str = "word_forms",
    *,
    category: str = "",
    case: bool = False,
    exclude: bool = False,
) -> Rule:
    return Rule(rule_id, phrase, category, mode, case, exclude)


def found(rules: list[Rule], text: str) -> list[tuple[int, str]]:
    engine = MatchEngine(rules)
    matches = engine.match(text)
    for m in matches:
        assert text[m.start : m.end] == m.matched_text
    return [(m.keyword_id, m.matched_text) for m in matches]


def test_word_forms_find_every_case_of_a_word() -> None:
    text = "На выборы не пойду. Все говорят о выборах, а про выборам и выборов молчат."
    assert found([rule(1, "выборы")], text) == [
        (1, "выборы"), (1, "выборах"), (1, "выборам"), (1, "выборов"),
    ]  # fmt: skip


def test_a_dictionary_form_keyword_does_not_find_a_different_word() -> None:
    assert found([rule(1, "выборы")], "Сложный выбор, без выбора") == []


def test_a_phrase_matches_its_words_in_any_form_as_neighbours() -> None:
    rules = [rule(1, "мэр города")]
    assert found(rules, "Письмо мэру города отправили") == [(1, "мэру города")]
    assert found(rules, "Спросите у мэра города") == [(1, "мэра города")]
    assert found(rules, "Мэра   \n города") == [(1, "Мэра   \n города")]
    assert found(rules, "города мэр") == []
    assert found(rules, "мэр нашего города") == []
    assert found(rules, "Это мэр. Города нет") == []
    assert found(rules, "мэр 😡 города") == []


def test_case_insensitive_by_default_and_case_sensitive_when_asked() -> None:
    assert found([rule(1, "мэр")], "МЭР и Мэр и мэр") == [(1, "МЭР"), (1, "Мэр"), (1, "мэр")]
    city = [rule(1, "Орёл", case=True)]
    assert found(city, "Еду в Орёл, из Орла, орёл в небе, у орла") == [(1, "Орёл"), (1, "Орла")]
    exact = [rule(1, "МВД", "exact_word", case=True)]
    assert found(exact, "МВД и мвд") == [(1, "МВД")]
    sub = [rule(1, "Газ", "substring", case=True)]
    assert found(sub, "Газпром и газ") == [(1, "Газ")]


def test_yo_and_ye_are_one_letter() -> None:
    assert found([rule(1, "ещё")], "еще раз и ЕЩЁ раз") == [(1, "еще"), (1, "ЕЩЁ")]
    assert found([rule(1, "еще")], "ещё") == [(1, "ещё")]
    assert found([rule(1, "всё", "exact_word")], "Всё, все") == [(1, "Всё"), (1, "все")]
    assert found([rule(1, "Фёдоров", "exact_word", case=True)], "Федоров") == [(1, "Федоров")]
    assert found([rule(1, "ёлк", "substring")], "Ёлка и елки") == [(1, "Ёлк"), (1, "елк")]


def test_exact_word_respects_word_boundaries() -> None:
    rules = [rule(1, "мэр", "exact_word")]
    assert found(rules, "Мэрия молчит, а мэр нет; мэра нет") == [(1, "мэр")]


def test_substring_matches_inside_words_overlapping_too() -> None:
    assert found([rule(1, "школ", "substring")], "Школа, дошкольники") == [
        (1, "Школ"), (1, "школ"),
    ]  # fmt: skip
    assert found([rule(1, "аа", "substring")], "ааа") == [(1, "аа"), (1, "аа")]


def test_hyphenated_words_whole_and_by_part() -> None:
    rules = [rule(1, "кто-то"), rule(2, "Санкт-Петербург"), rule(3, "Петербург"), rule(4, "мэр")]
    text = "Кто-то из Санкт-Петербурга сказал, что экс-мэр уехал"
    assert found(rules, text) == [
        (1, "Кто-то"), (2, "Санкт-Петербурга"), (3, "Петербурга"), (4, "мэр"),
    ]  # fmt: skip
    phrase = [rule(5, "мэр города")]
    assert found(phrase, "экс-мэр города") == [(5, "мэр города")]


def test_emoji_latin_and_digits() -> None:
    rules = [rule(1, "iPhone 15", "exact_word"), rule(2, "telegram"), rule(3, "😡", "substring")]
    text = "😡😡 Купил iPhone 15 в Telegram 👍🏻"
    assert found(rules, text) == [(3, "😡"), (3, "😡"), (1, "iPhone 15"), (2, "Telegram")]


def test_offsets_are_str_indices_after_multi_codepoint_emoji() -> None:
    text = "🤦‍♂️🇷🇺👏🏻 мэр"
    (match,) = MatchEngine([rule(1, "мэр")]).match(text)
    assert (match.start, match.end) == (len(text) - 3, len(text))
    assert text[match.start : match.end] == "мэр"


def test_context_surrounds_the_match() -> None:
    text = "Начало. " + "много слов " * 20 + "Спасибо мэру за парк, " + "и ещё слова " * 20
    (match,) = MatchEngine([rule(1, "мэр")]).match(text)
    assert "Спасибо мэру за парк" in match.context
    assert match.context.startswith("…")
    assert match.context.endswith("…")
    assert len(match.context) < len(text) / 2


def test_several_rules_and_phrases_share_one_pass() -> None:
    rules = [
        rule(1, "мэр"),
        rule(2, "мэр города"),
        rule(3, "мэра", "exact_word"),
        rule(4, "ремонт дороги"),
        rule(5, "дорога"),
    ]
    text = "Спросите у мэра города про ремонт дороги"
    assert found(rules, text) == [
        (1, "мэра"), (2, "мэра города"), (3, "мэра"), (4, "ремонт дороги"), (5, "дороги"),
    ]  # fmt: skip


def test_exclusions_stop_their_category_from_counting() -> None:
    engine = MatchEngine(
        [
            rule(1, "больница", category="health"),
            rule(2, "реклама", category="health", exclude=True),
            rule(3, "дорога", category="roads"),
            rule(4, "школа", category="schools"),
        ]
    )
    text = "Реклама: больница и дорога"
    matches = engine.match(text)
    assert {m.keyword_id for m in matches} == {1, 2, 3}  # the exclusion's match is kept
    assert engine.counted_keywords(matches) == 1  # only "дорога": health is excluded
    assert engine.counted_keywords(engine.match("больница и школа, дорога")) == 3


def test_no_rules_and_empty_text() -> None:
    assert MatchEngine([]).match("мэр") == []
    assert MatchEngine([rule(1, "мэр")]).match("") == []
