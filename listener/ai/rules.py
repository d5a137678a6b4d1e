"""The offline extractor: patterns and word lists, no network, deterministic.

It runs the whole flow when no OpenAI key is set and is the fallback whenever the model
fails. It is also the validator of model answers: a value the model proposes is kept only
if these rules accept it too.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Sequence

from listener.conversation.extraction import Choice, Extraction
from listener.conversation.questions import Question

WORD = re.compile(r"[^\W_][\w'’-]*", re.UNICODE)
TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")

DECLINE_PHRASES = (
    "prefer not", "rather not", "i'd rather not", "would rather not", "no thanks", "skip",
    "pass", "none of your business", "not saying", "don't want to say", "do not want to say",
    "no comment", "prefiero no", "paso", "je préfère ne pas", "préfère ne pas", "lieber nicht",
    "keine angabe", "prefiro não", "n/a",
)
ANONYMOUS_WORDS = (
    "anonymous", "anon", "anonymously", "stay anonymous", "keep me anonymous", "no name",
    "anónimo", "anonimo", "anónima", "anonyme", "anonym",
)
NAME_LEADS = (
    r"my name is", r"my name's", r"name is", r"name:", r"i am", r"i'm", r"im", r"it's", r"its",
    r"this is", r"call me", r"they call me", r"you can call me", r"me llamo", r"mi nombre es",
    r"soy", r"je m'appelle", r"je suis", r"mon nom est", r"ich heiße", r"ich heisse",
    r"mein name ist", r"ich bin", r"meu nome é", r"me chamo", r"eu sou", r"sou o", r"sou a", r"sou",
    r"sono", r"mi chiamo",
)
# Honorifics are not part of the name a participant is greeted by.
TITLES = {"dr", "mr", "mrs", "ms", "miss", "mx", "prof", "sr", "sra", "srta", "mme", "mlle", "herr", "frau"}
INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|instructions?|system prompt|prompt|pretend|jailbreak|override)\b"
    r"|\bset (?:my|the|your) \w+|\byou are now\b|\bact as\b"
)
# "I don't know" is neither a name nor a place.
UNKNOWING = (
    "idk", "i don't know", "i dont know", "dunno", "not sure", "no idea", "no sé", "no se",
    "je ne sais pas", "weiß nicht", "weiss nicht", "não sei", "nao sei",
)
NOT_NAMES = {
    "hi", "hello", "hey", "yes", "no", "ok", "okay", "thanks", "thank", "you", "what", "why",
    "here", "fine", "good", "the", "a", "an", "and", "not", "sure", "help", "stop", "please",
    "ignore", "set", "state", "system", "instructions", "prompt", "hola", "bonjour", "me",
}
NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100,
    "veinte": 20, "treinta": 30, "cuarenta": 40, "cincuenta": 50, "sesenta": 60,
    "setenta": 70, "ochenta": 80, "noventa": 90, "dieciocho": 18, "diecinueve": 19,
    "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7, "ocho": 8,
    "nueve": 9, "diez": 10,
    "vingt": 20, "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60,
    "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "sept": 7, "huit": 8, "neuf": 9,
    "vinte": 20, "trinta": 30, "quarenta": 40, "cinquenta": 50, "sessenta": 60, "setenta": 70,
    "oitenta": 80, "dois": 2, "três": 3, "sete": 7, "oito": 8, "nove": 9,
}
GENDER_WORDS = {
    "female": (
        "female", "woman", "women", "girl", "lady", "f", "she", "she/her", "feminine", "mujer",
        "femenino", "femme", "féminin", "frau", "weiblich", "mulher", "feminino", "donna",
    ),
    "male": (
        "male", "man", "men", "boy", "guy", "m", "he", "he/him", "masculine", "hombre",
        "masculino", "homme", "masculin", "mann", "männlich", "homem", "uomo",
    ),
    "non-binary": (
        "non-binary", "nonbinary", "non binary", "enby", "nb", "genderqueer", "genderfluid",
        "they", "they/them", "no binario", "no binaria", "non-binaire", "nicht-binär",
    ),
    "other": ("other", "agender", "two-spirit", "otro", "otra", "autre", "andere", "divers"),
    "prefer not to say": (
        "prefer not to say", "prefer not", "rather not say", "rather not", "prefiero no decir",
        "no decir", "je préfère ne pas dire", "keine angabe",
    ),
}
REGION_LEADS = (
    r"i live in", r"i'm from", r"i am from", r"im from", r"i'm in", r"i am in", r"from",
    r"in", r"my region is", r"region:", r"vivo en", r"soy de", r"j'habite à", r"j'habite en",
    r"je viens de", r"ich wohne in", r"ich komme aus", r"moro em", r"sou de",
)
YES = {"yes", "y", "yeah", "yep", "yup", "sure", "ok", "okay", "confirm", "correct", "si", "sí", "oui", "ja", "sim"}
NO = {"no", "n", "nope", "nah", "cancel", "non", "nein", "não", "nao"}


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).replace("’", "'")
    return re.sub(r"\s+", " ", text).strip().strip(" .!?¡¿,;:\"")


def fold(text: str) -> str:
    # lower(), not casefold(): it keeps lengths, so offsets map back onto the original.
    return _clean(text).lower()


def _declines(folded: str) -> bool:
    return any(folded == phrase or folded.startswith(phrase + " ") for phrase in DECLINE_PHRASES)


def is_instruction(text: str) -> bool:
    """Words that talk to the machine ("ignore your instructions", "set my state") are not answers."""
    return bool(INSTRUCTION.search(fold(text)))


def _unknowing(folded: str) -> bool:
    return folded in UNKNOWING


def _squash(text: str) -> str:
    """Letters and digits only: "quiet room", "Quiet-Room" and "QUIETROOM" are one ID."""
    return re.sub(r"[\W_]", "", text.casefold())


def _strip_lead(folded: str, original: str, leads: Sequence[str]) -> str | None:
    """The participant's words after an introduction ("my name is …"), original case kept."""
    for lead in sorted(leads, key=len, reverse=True):
        match = re.match(rf"^(?:hi|hello|hey|hola|bonjour)?[ ,!.]*{re.escape(lead)}(?=[ :,-])[ :,-]*", folded)
        if match and match.end() < len(folded):
            return _tail(original, match.end())
    return None


def _tail(original: str, folded_offset: int) -> str:
    """The original words from the position where a lead ended in the folded text."""
    return _clean(original)[folded_offset:].strip(" .!?¡¿,;:\"")


def _title(words: list[str]) -> str:
    return " ".join(word if any(c.isupper() for c in word) else word[:1].upper() + word[1:] for word in words)


class RuleExtractor:
    """`Extractor` on rules alone."""

    def event_id(self, text: str, known_ids: Sequence[str]) -> Extraction:
        by_key = {known.casefold(): known for known in known_ids}
        by_squashed = {_squash(known): known for known in known_ids}
        tokens = [token.casefold() for token in TOKEN.findall(unicodedata.normalize("NFKC", text))]
        for token in tokens:
            if token in by_key:
                return Extraction.found(by_key[token])
            if _squash(token) in by_squashed:
                return Extraction.found(by_squashed[_squash(token)])
        for first, second in zip(tokens, tokens[1:]):
            joined = _squash(first + second)
            if joined in by_squashed:
                return Extraction.found(by_squashed[joined])
        for token in tokens:
            if len(token) >= 5:
                close = difflib.get_close_matches(token, list(by_key), n=1, cutoff=0.88)
                if close:
                    return Extraction.found(by_key[close[0]])
        return Extraction.not_found()

    def name(self, text: str) -> Extraction:
        folded = fold(text)
        if not folded:
            return Extraction.not_found()
        if folded in ANONYMOUS_WORDS or any(folded.endswith(" " + word) for word in ANONYMOUS_WORDS[:3]):
            return Extraction.declined()
        if _declines(folded):
            return Extraction.declined()
        if _unknowing(folded) or is_instruction(text):
            return Extraction.not_found()
        candidate = _strip_lead(folded, text, NAME_LEADS)
        if candidate is None:
            candidate = _tail(text, 0)
        candidate = re.sub(rf"^(?:{'|'.join(TITLES)})\.?\s+", "", candidate, flags=re.IGNORECASE)
        candidate = re.split(r"[,.!?;]| and | y | et | und ", candidate)[0].strip()
        words = candidate.split()
        if not 1 <= len(words) <= 4:
            return Extraction.not_found()
        if any(not WORD.fullmatch(word) or any(ch.isdigit() for ch in word) for word in words):
            return Extraction.not_found()
        if words[0].casefold() in NOT_NAMES or len(candidate) > 60:
            return Extraction.not_found()
        return Extraction.found(_title(words))

    def validate_name(self, proposed: str, text: str) -> Extraction:
        """A name someone else (the model) read in `text`, kept only if these rules accept it:
        a plausible name, written in the message itself, in a message that is no instruction."""
        if is_instruction(text) or not all(fold(word) in fold(text) for word in proposed.split()):
            return Extraction.not_found()
        return self.name(proposed)

    def age(self, text: str) -> Extraction:
        folded = fold(text)
        if not folded:
            return Extraction.not_found()
        if _declines(folded):
            return Extraction.declined()
        numbers = [int(n) for n in re.findall(r"(?<![\d.])\d{1,3}(?![\d.])", folded)]
        if len(numbers) == 1:
            return Extraction.found(numbers[0]) if 0 <= numbers[0] <= 120 else Extraction.not_found()
        if numbers:
            return Extraction.not_found()
        total, seen = 0, False
        for word in re.split(r"[\s-]+", folded):
            word = word.strip(",.")
            if word in NUMBER_WORDS:
                value = NUMBER_WORDS[word]
                total = total * value if value == 100 and total else total + value
                seen = True
        if seen and 0 <= total <= 120:
            return Extraction.found(total)
        return Extraction.not_found()

    def gender(self, text: str) -> Extraction:
        folded = fold(text)
        if not folded:
            return Extraction.not_found()
        for value in ("prefer not to say", "non-binary"):
            if any(phrase in folded for phrase in GENDER_WORDS[value] if len(phrase) > 3):
                return Extraction.found(value)
        words = set(re.findall(r"[\w/'-]+", folded))
        for value in ("non-binary", "female", "male", "other"):
            if any(phrase in words for phrase in GENDER_WORDS[value]):
                return Extraction.found(value)
        if _declines(folded):
            return Extraction.found("prefer not to say")
        return Extraction.not_found()

    def region(self, text: str) -> Extraction:
        folded = fold(text)
        if not folded:
            return Extraction.not_found()
        if _declines(folded):
            return Extraction.declined()
        if _unknowing(folded):
            return Extraction.not_found()
        candidate = _strip_lead(folded, text, REGION_LEADS) or _tail(text, 0)
        candidate = re.sub(r"\s+", " ", candidate).strip(" .!?,;:")
        if not candidate or len(candidate) > 80 or not any(ch.isalpha() for ch in candidate):
            return Extraction.not_found()
        if candidate.casefold() in NOT_NAMES:
            return Extraction.not_found()
        words = candidate.split()
        if len(words) > 8:
            return Extraction.not_found()
        return Extraction.found(_title(words) if candidate == candidate.lower() else candidate)

    def yes_no(self, text: str) -> Extraction:
        folded = fold(text)
        first = folded.split(" ", 1)[0] if folded else ""
        if folded in YES or first in YES:
            return Extraction.found(True)
        if folded in NO or first in NO:
            return Extraction.found(False)
        return Extraction.not_found()

    def choice(self, text: str, options: Sequence[Choice]) -> Extraction:
        folded = fold(text)
        numbers = re.findall(r"\d+", folded)
        if len(numbers) == 1:
            for option in options:
                if option.number == int(numbers[0]):
                    return Extraction.found(option.event_id)
            return Extraction.not_found()
        by_id = self.event_id(text, [option.event_id for option in options])
        if by_id.ok:
            return by_id
        for option in options:
            name = fold(option.name)
            if name and (folded == name or (len(folded) >= 4 and folded in name) or name in folded):
                return Extraction.found(option.event_id)
        return Extraction.not_found()

    def answer(self, question: Question, text: str) -> Extraction:
        """An answer to a declared question, read by its type."""
        if question.type == "number":
            found = self.age(text)
            if found.ok and not question.min <= int(found.value) <= question.max:
                return Extraction.not_found()
            return found
        if question.type == "yes_no":
            return self.yes_no(text)
        if question.type == "choice":
            folded = fold(text)
            words = set(re.findall(r"[\w/'-]+", folded))
            for value, synonyms in question.options.items():
                if fold(value) == folded or any(fold(word) in words or fold(word) == folded for word in (value, *synonyms)):
                    return Extraction.found(value)
            return Extraction.declined() if _declines(folded) else Extraction.not_found()
        if question.shape == "name":
            return self.name(text)
        return self.region(text)
