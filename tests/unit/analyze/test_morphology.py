"""pymorphy3 lemmas: every parse's dictionary form, ё = е, keywords in dictionary form."""

from __future__ import annotations

import pytest

from parser_pipeline.analyze.morphology import Lemmatizer, default_lemmatizer


@pytest.fixture(scope="module")
def lemmatizer() -> Lemmatizer:
    return default_lemmatizer()


@pytest.mark.parametrize(
    ("word", "lemma"),
    [("выборов", "выборы"), ("выборам", "выборы"), ("выборах", "выборы"), ("мэра", "мэр"),
     ("мэру", "мэр"), ("дорогой", "дорога"), ("школой", "школа"), ("депутатов", "депутат"),
     ("ещё", "еще"), ("еще", "еще"), ("всё", "все"), ("кто-то", "кто-то"),
     ("санкт-петербурге", "санкт-петербург")],
)  # fmt: skip
def test_forms_have_their_lemma(lemmatizer: Lemmatizer, word: str, lemma: str) -> None:
    assert lemma in lemmatizer.lemmas(word.replace("ё", "е"))


def test_an_ambiguous_form_has_every_lemma(lemmatizer: Lemmatizer) -> None:
    assert {"дорога", "дорогой"} <= lemmatizer.lemmas("дорогой")


def test_latin_digits_and_long_words_stand_for_themselves(lemmatizer: Lemmatizer) -> None:
    assert lemmatizer.lemmas("iphone") == frozenset({"iphone"})
    assert lemmatizer.lemmas("15") == frozenset({"15"})
    assert lemmatizer.lemmas("а" * 100) == frozenset({"а" * 100})


def test_a_keyword_in_dictionary_form_is_that_lemma_alone(lemmatizer: Lemmatizer) -> None:
    assert lemmatizer.keyword_lemmas("Выборы") == frozenset({"выборы"})  # not "выбор"
    assert lemmatizer.keyword_lemmas("ещё") == frozenset({"еще"})
    assert {"дорога"} <= lemmatizer.keyword_lemmas("дороги")  # inflected: all its lemmas


def test_lookups_are_cached(lemmatizer: Lemmatizer) -> None:
    before = lemmatizer.cache_info().hits
    lemmatizer.lemmas("больницей")
    lemmatizer.lemmas("больницей")
    assert lemmatizer.cache_info().hits >= before + 1
