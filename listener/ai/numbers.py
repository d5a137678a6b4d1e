"""Whole numbers in a participant's words: digits, and numbers written out in words.

People answer "how old are you?" with "34", "I'm 34", "thirty-four", "treinta y
cuatro", "trente-quatre", "trinta e quatro", "thelathini na nne" or "三十四". The readers
and the check on a model's proposal (`listener.ai.evidence`) both need every number a
message carries, with its sign, so "-5" is never read as 5 and "two hundred" is read as
200 (a number, out of an age's range) rather than as no number at all.

The word tables are generated once, on first use: num2words writes 0-99 and the hundreds
in the languages it knows (with the spellings people type: no hyphens, no accents, "and"
left out), and a number up to a thousand is read as a hundreds phrase followed by one
below a hundred ("ciento veinte", "two hundred and five"). Small tables here cover
Swahili and Chinese numerals (Traditional and Simplified), which num2words does not write.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from num2words import num2words

from listener.ai.phrases import plain

LANGUAGES = ("en", "es", "fr", "pt", "pt_BR", "it", "de")
LONGEST_PHRASE = 8
CONJUNCTIONS = {"and", "y", "e", "et", "na"}
# Words that are also articles ("un café", "one of us"): a number only when the message
# is little more than the number itself.
ARTICLES = {"un", "une", "uno", "una", "um", "uma", "one"}
NEGATIVE_WORDS = {"minus", "menos", "moins", "negative", "negativo", "negatif"}
# Common misspellings and shortened forms ("veintiún años", "treinta y un") the generated
# tables do not have; each word is also tried in place of the word it stands for.
MISSPELLINGS = {"forty": "fourty", "ninety": "ninty", "uno": "un", "veintiuno": "veintiun"}
EXTRA_SPELLINGS = {"a hundred": 100, "hundred": 100}

SWAHILI_UNITS = ("sifuri", "moja", "mbili", "tatu", "nne", "tano", "sita", "saba", "nane", "tisa")
SWAHILI_TENS = {
    10: ("kumi",), 20: ("ishirini",), 30: ("thelathini", "thalathini"), 40: ("arobaini", "arubaini"),
    50: ("hamsini",), 60: ("sitini",), 70: ("sabini",), 80: ("themanini",), 90: ("tisini",),
}

CHINESE_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "壹": 1, "二": 2, "貳": 2, "两": 2, "兩": 2, "三": 3, "參": 3, "四": 4, "肆": 4,
    "五": 5, "伍": 5, "六": 6, "陸": 6, "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "玖": 9,
}
CHINESE_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
CHINESE_RUN = re.compile(f"[{''.join(CHINESE_DIGITS)}{''.join(CHINESE_UNITS)}]+")
# A number is "weak" right after these: 第一 is "the first", not 1.
CHINESE_ORDINAL = "第"

DIGITS = re.compile(
    r"(?P<sign>(?:(?<=\s)|^)[-−–])?(?<![0-9A-Za-zÀ-ÿ_.,])(?P<whole>\d+)(?P<fraction>[.,]\d+)?(?P<decade>'?s\b)?(?!\d)"
)
WORD = re.compile(r"[a-z0-9']+")


@dataclass(frozen=True)
class Number:
    """A number found in a message: its value (negative when written with a minus),
    whether it is whole, whether it is only a decade ("30s"), and whether it was written
    with a word that is also an article ("one", "un")."""

    value: int
    whole: bool = True
    decade: bool = False
    weak: bool = False


def _swahili(number: int) -> set[str]:
    """0-99 in Swahili: "thelathini na nne" is 34."""
    if number < 10:
        return {SWAHILI_UNITS[number]}
    tens, unit = divmod(number, 10)
    return {f"{word} na {SWAHILI_UNITS[unit]}" if unit else word for word in SWAHILI_TENS[tens * 10]}


def _variants(spelling: str) -> set[tuple[str, ...]]:
    """A spelling as people type it: also without the conjunction, without a plural 's'."""
    words = plain(spelling).split()
    variants = {" ".join(words), " ".join(word for word in words if word not in CONJUNCTIONS)}
    variants |= {
        " ".join(MISSPELLINGS.get(word, word) for word in variant.split()) for variant in variants
    }
    variants |= {variant.replace("vingts", "vingt").replace("cents", "cent") for variant in variants}
    return {tuple(variant.split()) for variant in variants if variant}


@cache
def word_tables() -> tuple[dict[tuple[str, ...], int], dict[tuple[str, ...], int]]:
    """The spelled-out numbers the readers know, as tuples of plain words: 0-99, and the
    hundreds (exact, like "two hundred", or the head of a larger number, like "ciento" in
    "ciento veinte") up to a thousand. Larger numbers are written as compositions of both."""
    below: dict[tuple[str, ...], int] = {}
    hundreds: dict[tuple[str, ...], int] = {}
    for number in range(100):
        for spelling in {num2words(number, lang=language) for language in LANGUAGES} | _swahili(number):
            for variant in _variants(spelling):
                below.setdefault(variant, number)
    for language in LANGUAGES:
        one = plain(num2words(1, lang=language)).split()
        for count in range(1, 11):
            for variant in _variants(num2words(count * 100, lang=language)):
                hundreds.setdefault(variant, count * 100)
            head = plain(num2words(count * 100 + 1, lang=language)).split()
            if count < 10 and len(head) > len(one) and head[-len(one):] == one:
                for variant in _variants(" ".join(head[: -len(one)])):
                    hundreds.setdefault(variant, count * 100)
    for count in range(1, 10):
        hundreds.setdefault(("mia", SWAHILI_UNITS[count]), count * 100)
    hundreds.setdefault(("elfu", "moja"), 1000)
    for spelling, number in EXTRA_SPELLINGS.items():
        hundreds.setdefault(tuple(plain(spelling).split()), number)
    return below, hundreds


def chinese_value(run: str) -> int | None:
    """三十四 -> 34, 一百零五 -> 105, 十二 -> 12; None for a run that is no single number (三四)."""
    total = 0
    digit: int | None = None
    for ch in run:
        if ch in CHINESE_DIGITS:
            if digit is not None and digit != 0 and CHINESE_DIGITS[ch] != 0:
                return None
            digit = CHINESE_DIGITS[ch]
        else:
            unit = CHINESE_UNITS[ch]
            total += (1 if digit is None else digit) * unit
            digit = None
    return total + (digit or 0)


def _digit_numbers(text: str) -> list[Number]:
    found = []
    for match in DIGITS.finditer(text):
        value = int(match["whole"])
        found.append(
            Number(
                -value if match["sign"] else value,
                whole=not match["fraction"] or set(match["fraction"][1:]) == {"0"},
                decade=bool(match["decade"]),
            )
        )
    return found


def _chinese_numbers(text: str) -> list[Number]:
    found = []
    for match in CHINESE_RUN.finditer(text):
        value = chinese_value(match.group())
        if value is not None:
            ordinal = match.start() > 0 and text[match.start() - 1] == CHINESE_ORDINAL
            found.append(Number(value, weak=ordinal))
    return found


def _longest(words: list[str], start: int, table: dict[tuple[str, ...], int]) -> tuple[int, int] | None:
    """The value and end of the longest phrase of `table` starting at `start`."""
    for end in range(min(len(words), start + LONGEST_PHRASE), start, -1):
        value = table.get(tuple(words[start:end]))
        if value is not None:
            return value, end
    return None


def _word_numbers(text: str) -> list[Number]:
    below, hundreds = word_tables()
    words = WORD.findall(plain(text))
    found, start = [], 0
    while start < len(words):
        head = _longest(words, start, hundreds)
        if head is not None:
            value, end = head
            after = end + (end < len(words) and words[end] in CONJUNCTIONS)
            rest = _longest(words, after, below) if value < 1000 else None
            if rest is not None:
                value, end = value + rest[0], rest[1]
        else:
            small = _longest(words, start, below)
            if small is None:
                start += 1
                continue
            value, end = small
        negative = start > 0 and words[start - 1] in NEGATIVE_WORDS
        weak = end - start == 1 and words[start] in ARTICLES
        found.append(Number(-value if negative else value, weak=weak))
        start = end
    return found


def numbers_in(text: str) -> list[Number]:
    """Every number the text carries, in digits, in words, or in Chinese numerals.

    A word that is also an article ("one", "un") is left out when the message also
    carries another number ("one of my kids is 5" is about 5).
    """
    text = unicodedata.normalize("NFKC", text)
    found = _digit_numbers(text) + _word_numbers(text) + _chinese_numbers(text)
    strong = [number for number in found if not number.weak]
    return strong or found


def carries(value: int, text: str) -> bool:
    """Whether `value` is among the numbers the text carries."""
    return any(number.value == value and number.whole for number in numbers_in(text))
