"""Deterministic Russian comment and post text with inflected keywords, emoji and awkward bytes."""

from __future__ import annotations

import random
import re

# VK's maximum comment length; one comment per world is exactly this long.
MAX_COMMENT_CHARS = 4096

# Text kinds: the generator for ordinary chatter plus the awkward cases every world contains.
KIND_NORMAL = 0
KIND_LONG = 1
KIND_NULL_LITERALS = 2
KIND_EMPTY = 3  # no text at all, the comment carries only an attachment
KIND_EDGE_SPACES = 4
KIND_TABS_NEWLINES = 5
KIND_LATIN = 6
KIND_QUOTES_EMOJI = 7
KIND_KEYWORD_FORMS = 8
SPECIAL_KINDS: tuple[int, ...] = (
    KIND_LONG,
    KIND_NULL_LITERALS,
    KIND_EMPTY,
    KIND_EDGE_SPACES,
    KIND_TABS_NEWLINES,
    KIND_LATIN,
    KIND_QUOTES_EMOJI,
    KIND_KEYWORD_FORMS,
)

_CASES = ("nom", "gen", "dat", "acc", "ins", "loc")

# Real inflected forms, so morphology-aware keyword matching has something to match.


def _forms(words: str) -> dict[str, str]:
    return dict(zip(_CASES, words.split(), strict=True))


LEXEMES: dict[str, dict[str, str]] = {
    "выборы": _forms("выборы выборов выборам выборы выборами выборах"),
    "мэр": _forms("мэр мэра мэру мэра мэром мэре"),
    "дорога": _forms("дорога дороги дороге дорогу дорогой дороге"),
    "дороги": _forms("дороги дорог дорогам дороги дорогами дорогах"),
    "школа": _forms("школа школы школе школу школой школе"),
    "больница": _forms("больница больницы больнице больницу больницей больнице"),
    "ремонт": _forms("ремонт ремонта ремонту ремонт ремонтом ремонте"),
    "парк": _forms("парк парка парку парк парком парке"),
    "автобус": _forms("автобус автобуса автобусу автобус автобусом автобусе"),
    "депутаты": _forms("депутаты депутатов депутатам депутатов депутатами депутатах"),
}

_TEMPLATES: tuple[str, ...] = (
    "Когда уже {мэр.nom} займётся {дорога.ins}?",
    "Опять перекопали всю {дорога.acc} возле {школа.gen}.",
    "На {выборы.acc} не пойду, всё и так понятно.",
    "Спросите у {мэр.gen}, куда ушли деньги на {ремонт.acc}.",
    "Про {выборы.acc} все говорят, а {дорога.nom} так и стоит разбитая.",
    "Письмо {мэр.dat} отправили ещё в марте, ответа нет.",
    "В {школа.loc} номер {num} снова нет горячей воды.",
    "Дети ходят в {школа.acc} по {дорога.dat} без тротуара.",
    "Перед {выборы.ins} всегда начинают {ремонт.acc}.",
    "Говорят, {депутаты.nom} обещали новый {парк.acc}.",
    "Сколько можно ждать {автобус.acc}? Стоим по {num} минут.",
    "Все разговоры о {выборы.loc}, а {больница.acc} так и не открыли.",
    "Спасибо {мэр.dat} за {парк.acc}, гуляем каждый вечер.",
    "{больница.nom} на Садовой работает до восьми.",
    "Полностью согласен с автором.",
    "Это ещё что, у нас во дворе вообще ничего не делают.",
    "Кто-нибудь знает, когда закончат {ремонт.acc} {дорога.gen}?",
    "Зачем нам такой {мэр.nom}?",
    "Сегодня видел {мэр.gen} у {школа.gen}, приехал с камерами.",
    "Про {дороги.acc} в нашем районе давно пора написать.",
    "Интересно, что скажут {депутаты.nom} перед {выборами}.",
    "По {дорогам} у нас только на тракторе.",
    "Доволен {ремонтом} в {парке}, сделали хорошо.",
    "Администрация опять молчит.",
    "А где обещанный {автобус.nom} до {больница.gen}?",
    "Надо всем вместе идти к {мэр.dat}.",
)
_EMOJI = ("😡", "👍", "😂", "🙏", "🔥", "🤦‍♂️", "❤️", "🇷🇺", "👏🏻", "🤔")
_LATIN = (
    "ok",
    "lol",
    "WiFi",
    "iPhone",
    "Telegram",
    "YouTube",
    "online",
    "fake news",
    "#ремонт2024",
)
_HEADLINES = (
    "Новости города",
    "Срочно",
    "Обращение жителей",
    "Итоги недели",
    "Важно для родителей",
    "Транспорт",
)
_FIRST_NAMES = (
    "Анна", "Мария", "Елена", "Ольга", "Наталья", "Ирина", "Светлана", "Татьяна",
    "Александр", "Сергей", "Дмитрий", "Андрей", "Алексей", "Иван", "Михаил", "Николай",
)  # fmt: skip
_LAST_NAMES = (
    "Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов",
    "Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров",
)  # fmt: skip
_FEMININE = frozenset(_FIRST_NAMES[:8])


# Every `{lexeme.case}` slot and the form it stands for, looked up in one pass per template.
_SLOT_FORMS = {
    f"{lexeme}.{case}": form for lexeme, forms in LEXEMES.items() for case, form in forms.items()
}
_SLOT = re.compile(r"\{([^{}]*)\}")


def _fill(template: str, rng: random.Random) -> str:
    number = str(rng.randint(2, 60))
    # Shorthand slots written as an inflected form already ({выборами}) resolve to themselves.
    return _SLOT.sub(
        lambda slot: number if slot[1] == "num" else _SLOT_FORMS.get(slot[1], slot[1]), template
    )


def sentence(rng: random.Random) -> str:
    return _fill(rng.choice(_TEMPLATES), rng)


def normal_text(rng: random.Random) -> str:
    """One to three sentences, sometimes with emoji, «quotes», a Latin word or a line break."""
    parts = [sentence(rng) for _ in range(rng.choice((1, 1, 1, 2, 2, 3)))]
    if rng.random() < 0.1:
        i = rng.randrange(len(parts))
        parts[i] = f"«{parts[i].rstrip('.?!')}»"
    if rng.random() < 0.1:
        parts.append(rng.choice(_LATIN))
    sep = "\n" if rng.random() < 0.15 else " "
    text = sep.join(parts)
    if rng.random() < 0.15:
        text += " " + rng.choice(_EMOJI) * rng.randint(1, 3)
    return text


def long_text(rng: random.Random) -> str:
    """Exactly MAX_COMMENT_CHARS characters of plain sentences (no emoji to split)."""
    chunks: list[str] = []
    size = 0
    while size < MAX_COMMENT_CHARS:
        s = sentence(rng) + " "
        chunks.append(s)
        size += len(s)
    return "".join(chunks)[:MAX_COMMENT_CHARS]


def comment_text(kind: int, rng: random.Random) -> str:
    """The text of a comment of `kind` (see the KIND_* constants)."""
    if kind == KIND_NORMAL:
        return normal_text(rng)
    if kind == KIND_LONG:
        return long_text(rng)
    if kind == KIND_NULL_LITERALS:
        return "Вставил null в форму, а там \\N и NULL. " + sentence(rng)
    if kind == KIND_EMPTY:
        return ""
    if kind == KIND_EDGE_SPACES:
        return "   " + sentence(rng) + "  \t "
    if kind == KIND_TABS_NEWLINES:
        return f"{sentence(rng)}\n\t{sentence(rng)}\n\n{sentence(rng)}\tконец"
    if kind == KIND_LATIN:
        return f"{sentence(rng)} Check this: https://example.com/path?q=1&lang=ru, ok? iPhone 15"
    if kind == KIND_QUOTES_EMOJI:
        return f'Он сказал: «{sentence(rng)}» и ещё "прямые" кавычки, апостроф \' и \\ 🤦‍♂️😂🇷🇺'
    if kind == KIND_KEYWORD_FORMS:
        return (
            "Выборы, выборов, выборам; мэр, мэра, мэру, мэром; "
            "дорога, дороги, дорогу, дорогой; школа, школе, школу, школой."
        )
    raise ValueError(f"unknown text kind {kind}")


def post_text(rng: random.Random) -> str:
    """A news-like post: a headline, one to three paragraphs, sometimes hashtags."""
    paragraphs = [
        " ".join(sentence(rng) for _ in range(rng.randint(1, 3))) for _ in range(rng.randint(1, 3))
    ]
    text = rng.choice(_HEADLINES) + "\n\n" + "\n\n".join(paragraphs)
    if rng.random() < 0.3:
        text += "\n\n#новости #город"
    return text


def person_name(rng: random.Random) -> tuple[str, str, int]:
    """(first_name, last_name, sex) with the surname agreeing in gender (sex 1 female, 2 male)."""
    first = rng.choice(_FIRST_NAMES)
    last = rng.choice(_LAST_NAMES)
    if first in _FEMININE:
        return first, last + "а", 1
    return first, last, 2
