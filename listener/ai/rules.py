"""The offline reader: patterns and word lists, no network, deterministic.

It reads every answer when no OpenAI key is set (the default experience), and whenever
the model fails. It is also the judge of the model's proposals (`listener.ai.evidence`):
a value the model proposes is kept only where the message's own words carry it.

`RuleExtractor.answer(question, text)` reads an answer by the question's declared type
(`listener.conversation.questions`): free text shaped as a name, a place or anything; a
whole number in a range; one of a list of choices; yes or no. Each gives found (a value
already valid for the question), not found, or declined. The event ID and the "which
event?" choice after a long silence have readers of their own.
"""

from __future__ import annotations

import difflib
import itertools
import re
import unicodedata
from collections.abc import Sequence

from listener.ai.numbers import numbers_in
from listener.ai.phrases import (
    after_openers,
    clean,
    declines,
    fold,
    has_cjk,
    is_instruction,
    is_question,
    plain,
    unknowing,
)
from listener.conversation.extraction import Choice, Extraction
from listener.conversation.questions import (
    ChoiceQuestion,
    NumberQuestion,
    Question,
    TextQuestion,
)
from listener.conversation.responding import LINK

TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
NAME_WORD = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*\.?")
PLAIN_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


def _longest_first(phrases: Sequence[str]) -> tuple[str, ...]:
    """Phrases to try longest first, so "i'm from" wins over "i'm"."""
    return tuple(sorted(phrases, key=len, reverse=True))


# ---- names ---------------------------------------------------------------------------------

# Said anywhere in the message, these introduce the name ("my friends call me Tommy").
NAME_INTRODUCTIONS = (
    "my name is", "my name's", "my names", "my full name is", "my first name is", "name is", "name's",
    "name:", "call me", "i'm called", "i am called", "im called", "i go by", "i'm known as", "known as",
    "me llamo", "mi nombre es", "llámame", "llamame", "me dicen", "je m'appelle", "je m appelle",
    "mon nom est", "mon prénom est", "appelle-moi", "appelez-moi", "meu nome é", "meu nome e", "me chamo",
    "me chame de", "pode me chamar de", "jina langu ni", "naitwa", "ninaitwa", "niite", "ich heiße",
    "ich heisse", "mein name ist", "mi chiamo", "我叫", "我的名字是", "我的名字叫", "叫我",
)
INTRODUCTION = re.compile(
    "|".join(
        re.escape(phrase) if has_cjk(phrase) else rf"(?<![\w']){re.escape(phrase)}(?![\w'])"
        for phrase in _longest_first(NAME_INTRODUCTIONS)
    )
)
# At the start of a sentence only: "I'm Tom", "Sorry I'm late! I'm Anna".
NAME_LEADS = _longest_first((
    "i am", "i'm", "im", "it's me", "its me", "it is me", "it's", "its", "it is", "this is", "here is",
    "here's", "yo soy", "soy", "je suis", "c'est moi", "moi c'est", "c'est", "eu sou", "sou o", "sou a",
    "sou", "mimi ni", "ich bin", "sono", "我是",
))
# Sentences about the newcomer, not their name ("Hi, I'm new here").
NOT_INTRODUCTIONS = _longest_first(("i'm new", "i am new", "im new", "new here"))
# Honorifics are not part of the name a participant is greeted by.
TITLES = ("dr", "mr", "mrs", "ms", "miss", "mx", "prof", "sr", "sra", "srta", "mme", "mlle", "herr", "frau")
SENTENCE_BREAK = re.compile(r"(?<=\w\w)\.\s+|[!?]+\s*")
NAME_ENDS = re.compile(
    r"[,!?;:()/&]|(?<=\w\w)\.| - | (?:and|but|from|y|pero|et|mais|e|mas|na|und|aged?|here|speaking|aquí|aqui|ici|"
    r"hapa|lol|haha|again|thanks|thank you|please|por favor|s'il vous plaît|tafadhali)(?= |$)|"
    r" \S*\d"
)
# Words that are no part of anyone's name: whoever writes them is saying something else.
NOT_NAME_WORDS = {
    "i", "i'm", "im", "me", "my", "mine", "you", "your", "we", "our", "they", "it", "it's", "is", "am",
    "are", "was", "were", "be", "live", "lives", "living", "work", "working", "from", "in", "at", "on",
    "to", "the", "a", "an", "this", "that", "what", "who", "why", "how", "where", "when", "which", "not",
    "no", "yes", "ok", "okay", "and", "or", "but", "do", "does", "don't", "dont", "know", "want", "like",
    "here", "there", "years", "year", "old", "age", "name", "event", "thanks", "thank", "hi", "hello",
    "hey", "fine", "good", "sure", "just", "help", "stop", "sorry", "again", "about", "have", "has",
    "please", "yo", "soy", "vivo", "en", "es", "mi", "tengo", "años", "el", "los", "que",
    "je", "suis", "habite", "j'habite", "est", "mon", "ma", "et", "ans", "eu", "moro", "em", "meu",
    "minha", "é", "tenho", "anos", "mimi", "ni", "naishi", "ninaishi", "kutoka", "jina", "langu",
    "miaka", "nina", "hola", "bonjour", "olá", "ola", "jambo", "state", "system", "instructions",
    "prompt", "ignore", "set", "female", "male", "woman", "man", "girl", "boy", "non-binary", "nonbinary",
    "other", "anonymous", "question", "what's", "whats", "who's", "idk", "late", "back", "ready",
    "tired", "busy", "excited", "happy", "confused", "lost", "interested", "well", "great", "cool",
    "lol", "haha", "hahaha", "lmao", "hmm", "umm", "ugh", "wow", "omg", "test", "testing",
}
# Lower-case particles inside a name or a place ("Maria de la Cruz", "Rio de Janeiro").
PARTICLES = {
    "de", "da", "das", "do", "dos", "del", "della", "di", "du", "des", "la", "le", "van", "von", "der",
    "den", "ter", "bin", "binti", "al", "el", "y", "e", "of", "the", "upon", "on", "sur", "en", "am",
    "im", "an",
}
ANONYMOUS = re.compile(
    r"\b(?:anonymous|anonymously|anon|anónimo|anonimo|anónima|anonima|anônimo|anonyme|anonym|no name|"
    r"bila jina)\b|匿名"
)

# ---- places --------------------------------------------------------------------------------

PLACE_LEADS = _longest_first((
    "currently in", "currently living in", "currently based in", "right now in", "now in", "i've lived in",
    "i have lived in", "i've been living in", "i have been living in", "i live in", "i live at",
    "i'm living in", "i am living in", "im living in", "i'm from", "i am from", "im from", "i come from",
    "i'm in", "i am in", "im in", "i'm based in", "i am based in", "im based in", "based in", "living in",
    "live in", "from", "in", "my region is", "my area is", "my town is", "my city is", "region:",
    "the region is", "vivo en", "soy de", "estoy en", "vengo de", "resido en", "j'habite à", "j'habite a",
    "j'habite en", "j'habite au", "j'habite aux", "j'habite", "je vis à", "je vis en", "je viens de",
    "je viens du", "je viens d'", "je suis de", "je suis à", "moro em", "moro no", "moro na", "eu moro em",
    "eu moro no", "eu moro na", "sou de", "sou do", "sou da", "eu sou de", "venho de", "vivo em",
    "ninaishi katika", "ninaishi", "naishi", "ninatoka", "natoka", "kutoka", "mimi ni wa", "niko", "nipo",
    "ich wohne in", "ich komme aus", "ich lebe in", "我住在", "我住", "我來自", "我来自", "我在", "住在", "來自", "来自", "à",
    "en", "em",
))
# "de Sevilla" is a place, "de Souza" may be a name: only these leads say "a place" to the name question.
PLACE_SIGNS = tuple(lead for lead in PLACE_LEADS if lead not in ("in", "from", "à", "en", "em"))
PLACE_ENDS = re.compile(
    r"[.!?;()]| (?:but|since|for|because|where|and i|and i'm|and im|and my|pero|porque|desde|hace|"
    r"y tengo|y soy|mais|parce|depuis|et j'ai|et je|mas|há|e tenho|e eu|lakini|tangu|na nina)(?= |$)"
)
NOT_PLACE_WORDS = {
    "i", "i'm", "im", "i've", "lived", "live", "me", "my", "you", "your", "am", "is", "are", "was", "name",
    "years", "old", "age", "yo", "soy", "tengo", "je", "suis", "j'ai", "eu", "tenho", "mimi",
    "jina", "nina", "miaka",
}
NOT_PLACES = {
    "yes", "no", "ok", "okay", "hi", "hello", "hey", "thanks", "fine", "good", "female", "male", "woman",
    "man", "non-binary", "nonbinary", "other", "anonymous", "here", "there", "home", "everywhere",
    "nowhere", "somewhere", "around", "help", "what",
}

# ---- yes / no ------------------------------------------------------------------------------

YES = {
    "yes", "y", "yeah", "yea", "ya", "yah", "yep", "yup", "yess", "yes please", "sure", "ok", "okay", "k",
    "kk", "alright", "all right", "of course", "definitely", "absolutely", "certainly", "correct", "right",
    "true", "affirmative", "sounds good", "go ahead", "please do", "why not", "confirm", "i think so",
    "guess so", "i guess so", "i guess", "i suppose so", "i suppose", "no problem", "no worries", "sí", "si",
    "claro", "vale", "dale", "por supuesto", "desde luego", "de acuerdo", "correcto", "seguro",
    "sin problema", "oui", "ouais", "ouai", "bien sûr", "bien sur", "d'accord", "dac", "carrément",
    "volontiers", "exact", "exactement", "pas de problème", "sim", "claro que sim", "pode", "com certeza",
    "certo", "isso", "beleza", "tá bom", "ta bom", "sem problema", "ndiyo", "ndio", "naam", "sawa", "ewe",
    "ja", "jawohl",
}
NO = {
    "no", "n", "nope", "nah", "no thanks", "no thank you", "not really", "not now", "negative", "never",
    "cancel", "nay", "no way", "nop", "para nada", "de ninguna manera", "non", "nan", "pas du tout",
    "jamais", "non merci", "não", "nao", "nem", "de jeito nenhum", "hapana", "la", "siyo", "sitaki",
    "nein",
}
ONLY_ALONE = {"y", "n", "k", "la", "ya", "right", "true", "exact", "nem", "nan"}
CJK_YES = (
    "是的", "是", "好的", "好啊", "好", "對的", "对的", "對", "对", "可以", "要", "沒問題", "没问题", "當然", "当然", "嗯", "行",
)
CJK_NO = ("不是", "不要", "不用", "不行", "不對", "不对", "沒有", "没有", "算了", "不", "否")
CJK_YES_NO = _longest_first(CJK_NO + CJK_YES)
YES_SIGNS = ("👍", "✅", "👌", "✔", "🆗", "🙆")
NO_SIGNS = ("👎", "❌", "✖", "🙅", "⛔")

# ---- the "which event?" choice ----------------------------------------------------------

ORDINALS = {
    1: ("first", "1st", "primero", "primera", "primer", "premier", "premiere", "1er", "1re", "1ere",
        "primeiro", "kwanza"),
    2: ("second", "2nd", "segundo", "segunda", "deuxieme", "seconde", "2e", "2eme", "pili"),
    3: ("third", "3rd", "tercero", "tercera", "tercer", "troisieme", "3e", "3eme", "terceiro", "terceira",
        "tatu"),
    4: ("fourth", "4th", "cuarto", "cuarta", "quatrieme", "4e", "4eme", "quarto", "quarta", "nne"),
    5: ("fifth", "5th", "quinto", "quinta", "cinquieme", "5e", "5eme", "tano"),
}
CARDINALS = {
    1: ("one", "uno", "una", "un", "une", "um", "uma", "moja"),
    2: ("two", "dos", "deux", "dois", "duas", "mbili"),
    3: ("three", "tres", "trois", "tatu"),
    4: ("four", "cuatro", "quatre", "quatro", "nne"),
    5: ("five", "cinco", "cinq", "tano"),
}
LAST = ("last", "ultimo", "ultima", "dernier", "derniere", "mwisho")
CHINESE_ORDINAL = re.compile(r"第\s*([一二兩两三四五1-5])")
CHINESE_SMALL = {"一": 1, "二": 2, "兩": 2, "两": 2, "三": 3, "四": 4, "五": 5}
NUMBER_PICK = re.compile(r"(?<![\w])#?(\d+)(?![\w])")
COMMON_NAME_WORDS = {"the", "and", "of", "for", "a", "an", "de", "la", "el", "le", "du", "des", "na", "ya", "wa"}
CLOSE_SPELLING = 0.8

# ---- helpers -------------------------------------------------------------------------------


def _phrase_at(folded: str, position: int, phrases: Sequence[str]) -> int | None:
    """Where the first of `phrases` (longest first) ends if one starts at `position` as whole words."""
    for phrase in phrases:
        if phrase and folded.startswith(phrase, position):
            end = position + len(phrase)
            if end == len(folded) or has_cjk(phrase) or not (folded[end].isalnum() and phrase[-1].isalnum()):
                return end
    return None


def _skip_separators(folded: str, position: int) -> int:
    while position < len(folded) and folded[position] in " :,-–!.":
        position += 1
    return position


def _introduced(folded: str) -> int | None:
    """Where the words after the first introduction begin ("… call me Tommy")."""
    for match in INTRODUCTION.finditer(folded):
        start = _skip_separators(folded, match.end())
        if start < len(folded):
            return start
    return None


def _cased(word: str) -> str:
    """A word written all in lower or all in upper case, capitalised part by part
    ("o'brien" -> "O'Brien", "JEAN-PIERRE" -> "Jean-Pierre"); mixed case is kept as written."""
    if not (word.islower() or (word.isupper() and len(word) > 2)):
        return word
    return re.sub(r"[^\W\d_]+", lambda match: match.group().capitalize(), word.lower())


def _title(words: list[str]) -> str:
    """Proper capitals, leaving a lower-case particle inside ("Rio de Janeiro") alone."""
    return " ".join(
        word if index and word in PARTICLES else _cased(word) for index, word in enumerate(words)
    )


def _plain_words(text: str) -> list[str]:
    return PLAIN_WORD.findall(plain(text))


def _close(word: str, candidates: Sequence[str]) -> bool:
    """A typo of one of the candidates (only for words long enough to tell apart, and
    with the right first letter: "gender" is no typo of "agender")."""
    if len(word) < 5:
        return False
    long_enough = [candidate for candidate in candidates if len(candidate) >= 5 and candidate[0] == word[0]]
    return bool(difflib.get_close_matches(word, long_enough, n=1, cutoff=CLOSE_SPELLING))


def _squash(text: str) -> str:
    """Letters and digits only: "quiet room", "Quiet-Room" and "QUIETROOM" are one ID."""
    return re.sub(r"[\W_]", "", text.casefold())


def _unusable(text: str, folded: str) -> bool:
    """Not an answer to any question: empty, "I don't know", a question back, words to
    the machine, a link."""
    return not folded or unknowing(folded) or is_question(folded) or is_instruction(text) or bool(LINK.search(text))


# ---- readers by type ------------------------------------------------------------------------


def _within(question: TextQuestion, value: str) -> bool:
    words = len(value.split())
    return (
        question.min_length <= len(value) <= question.max_length
        and (question.max_words is None or words <= question.max_words)
    )


def _name_at(question: TextQuestion, written: str, start: int) -> str | None:
    """The name that begins at `start`, up to where other words begin; None when what is
    there is no name (a place, an age, a sentence)."""
    candidate = re.sub(rf"^(?:{'|'.join(TITLES)})\.?\s+", "", written[start:], flags=re.IGNORECASE)
    ending = NAME_ENDS.search(candidate.lower())
    if ending:
        candidate = candidate[: ending.start()]
    words = candidate.strip(" '-").split()
    if not words or not _within(question, " ".join(words)):
        return None
    if any(not NAME_WORD.fullmatch(word) or word.lower() in NOT_NAME_WORDS for word in words):
        return None
    if has_cjk(candidate) and (len(words) > 1 or len(candidate) > 4):
        return None
    return _title(words)


def _read_name(question: TextQuestion, text: str) -> Extraction:
    written = clean(text)
    folded = fold(text)
    if ANONYMOUS.search(folded) or declines(folded):
        return Extraction.declined()
    if _unusable(text, folded) or _phrase_at(folded, after_openers(folded), PLACE_SIGNS) is not None:
        return Extraction.not_found()
    introduced = _introduced(folded)
    if introduced is not None:
        name = _name_at(question, written, introduced)
        return Extraction.found(name) if name else Extraction.not_found()
    # "Sorry I'm late! I'm Anna": the first sentence that gives a name.
    for sentence in [0, *(match.end() for match in SENTENCE_BREAK.finditer(folded))]:
        start = after_openers(folded, sentence)
        if _phrase_at(folded, start, NOT_INTRODUCTIONS) is not None:
            continue
        lead = _phrase_at(folded, start, NAME_LEADS)
        name = _name_at(question, written, start if lead is None else _skip_separators(folded, lead))
        if name:
            return Extraction.found(name)
    return Extraction.not_found()


def _refused(text: str, folded: str) -> Extraction | None:
    """Declined, or not understood, before any reading: a refusal, or no answer at all."""
    if declines(folded):
        return Extraction.declined()
    return Extraction.not_found() if _unusable(text, folded) else None


def _after_lead(folded: str, leads: Sequence[str]) -> int:
    """Where the answer begins: after greetings and fillers, then after one of `leads`."""
    start = after_openers(folded)
    lead = _phrase_at(folded, start, leads)
    return start if lead is None else _skip_separators(folded, lead)


def _read_place(question: TextQuestion, text: str) -> Extraction:
    written, folded = clean(text), fold(text)
    refused = _refused(text, folded)
    if refused is not None:
        return refused
    if _introduced(folded) is not None:
        return Extraction.not_found()
    candidate = written[_after_lead(folded, PLACE_LEADS):]
    ending = PLACE_ENDS.search(candidate.lower())
    if ending:
        candidate = candidate[: ending.start()]
    candidate = re.sub(r"^the\s+(?=\S)", "", candidate.strip(" ,:-"))
    candidate = re.sub(r"\s+", " ", candidate).strip(" ,:-")
    lowered = candidate.lower()
    words = lowered.split()
    if not words or not any(ch.isalpha() for ch in candidate) or not _within(question, candidate):
        return Extraction.not_found()
    if lowered in NOT_PLACES or any(word.strip(",") in NOT_PLACE_WORDS for word in words):
        return Extraction.not_found()
    if candidate == lowered:
        candidate = _title(candidate.split())
    return Extraction.found(candidate)


def _read_any(question: TextQuestion, text: str) -> Extraction:
    written, folded = clean(text), fold(text)
    refused = _refused(text, folded)
    if refused is not None:
        return refused
    start = _after_lead(folded, _longest_first([fold(lead) for lead in question.leads]))
    candidate = re.sub(r"\s+", " ", written[start:]).strip(" ,:-")
    if not candidate or not any(ch.isalnum() for ch in candidate) or not _within(question, candidate):
        return Extraction.not_found()
    return Extraction.found(candidate)


def _read_number(question: NumberQuestion, text: str) -> Extraction:
    folded = fold(text)
    if declines(folded):
        return Extraction.declined()
    if not folded or is_instruction(text):
        return Extraction.not_found()
    found = numbers_in(text)
    if len({number.value for number in found}) != 1:
        return Extraction.not_found()
    number = found[0]
    if not number.whole or number.decade or not question.min <= number.value <= question.max:
        return Extraction.not_found()
    return Extraction.found(number.value)


def _decline_option(question: ChoiceQuestion) -> str | None:
    """The option that means "prefer not to say", when the question offers one."""
    for option, synonyms in question.options.items():
        if any(declines(fold(phrase)) for phrase in (option, *synonyms)):
            return option
    return None


def _phrase_in(phrase: str, words: list[str], whole: str) -> bool:
    """A plain phrase among the message's plain words (a Chinese one anywhere in it)."""
    if has_cjk(phrase):
        return phrase in whole
    parts = phrase.split()
    if len(parts) == 1 and len(phrase) <= 2:
        return words == parts
    return any(words[index : index + len(parts)] == parts for index in range(len(words) - len(parts) + 1))


def _read_choice(question: ChoiceQuestion, text: str) -> Extraction:
    folded = fold(text)
    if not folded or is_instruction(text):
        return Extraction.not_found()
    whole = plain(folded)
    words = re.findall(r"[^\W_]+(?:'[^\W_]+)?", whole.replace("/", " "))
    joined = [first + second for first, second in itertools.pairwise(words)]  # "gender fluid"
    exact: dict[str, int] = {}
    close: set[str] = set()
    for option, synonyms in question.options.items():
        for phrase in (option, *synonyms):
            spelled = plain(phrase).replace("/", " ")
            if _phrase_in(spelled, words, whole) or spelled in joined:
                exact[option] = max(exact.get(option, 0), len(spelled))
            elif " " not in spelled and any(_close(word, [spelled]) for word in words):
                close.add(option)
    if exact:
        longest = max(exact.values())
        best = [option for option, length in exact.items() if length == longest]
        return Extraction.found(best[0]) if len(best) == 1 else Extraction.not_found()
    if len(close) == 1:
        return Extraction.found(close.pop())
    if not close and declines(folded):
        option = _decline_option(question)
        return Extraction.found(option) if option else Extraction.declined()
    return Extraction.not_found()


def _read_yes_no(text: str) -> Extraction:
    stripped = unicodedata.normalize("NFKC", text).strip()
    if stripped.startswith(YES_SIGNS):
        return Extraction.found(True)
    if stripped.startswith(NO_SIGNS):
        return Extraction.found(False)
    folded = fold(text)
    if not folded or unknowing(folded):
        return Extraction.not_found()
    for phrase in CJK_YES_NO:
        if folded.startswith(phrase):
            return Extraction.found(phrase in CJK_YES)
    words = re.findall(r"[\w']+", folded)
    for size in (3, 2, 1):
        phrase = " ".join(words[:size])
        if len(words) >= size and (phrase in YES or phrase in NO):
            if phrase in ONLY_ALONE and len(words) > 1:
                continue
            return Extraction.found(phrase in YES)
    return Extraction.not_found()


class RuleExtractor:
    """`Extractor` on rules alone."""

    def answer(self, question: Question, text: str) -> Extraction:
        """The answer to `question` in `text`: found (valid for the question), not found or declined."""
        if isinstance(question, TextQuestion):
            reader = {"name": _read_name, "place": _read_place, "any": _read_any}[question.shape]
            return reader(question, text)
        if isinstance(question, NumberQuestion):
            return _read_number(question, text)
        if isinstance(question, ChoiceQuestion):
            return _read_choice(question, text)
        found = _read_yes_no(text)
        if not found.ok and declines(fold(text)):
            return Extraction.declined()
        return found

    # the shipped questions, until the flow's declarations reach every caller ------------------





    def validate_name(self, proposed: str, text: str, question: TextQuestion) -> Extraction:
        """A name someone else (the model) read in `text`, kept only if these rules accept it:
        a plausible name, written in the message itself, in a message that is no instruction."""
        said = _plain_words(text)
        whole = plain(text)
        if is_instruction(text) or not proposed.strip():
            return Extraction.not_found()
        for word in _plain_words(proposed):
            if not (word in said or (has_cjk(word) and word in whole)):
                return Extraction.not_found()
        return _read_name(question, proposed)

    # events and confirmations ---------------------------------------------------------------

    def yes_no(self, text: str) -> Extraction:
        return _read_yes_no(text)

    def event_id(self, text: str, known_ids: Sequence[str]) -> Extraction:
        by_key = {known.casefold(): known for known in known_ids}
        by_squashed = {_squash(known): known for known in known_ids}
        tokens = [token.casefold() for token in TOKEN.findall(unicodedata.normalize("NFKC", text))]
        for token in tokens:
            if token in by_key:
                return Extraction.found(by_key[token])
            if _squash(token) in by_squashed:
                return Extraction.found(by_squashed[_squash(token)])
        for first, second in itertools.pairwise(tokens):
            joined = _squash(first + second)
            if joined in by_squashed:
                return Extraction.found(by_squashed[joined])
        for token in tokens:
            if len(token) >= 5:
                close = difflib.get_close_matches(token, list(by_key), n=1, cutoff=0.88)
                if close:
                    return Extraction.found(by_key[close[0]])
        return Extraction.not_found()

    def choice(self, text: str, options: Sequence[Choice]) -> Extraction:
        """The option picked from a numbered list of events: by its event ID, its number,
        an ordinal ("the first one", "la primera", "第二個"), or its name or a word of its
        name that no other option shares."""
        if not options:
            return Extraction.not_found()
        by_id = self.event_id(text, [option.event_id for option in options])
        if by_id.ok:
            return by_id
        by_number = {option.number: option.event_id for option in options}
        picked = _picked_number(text, len(options))
        if picked in by_number:
            return Extraction.found(by_number[picked])
        by_name = _picked_by_name(text, options)
        if by_name.ok:
            return by_name
        counted = _counted(text)
        return Extraction.found(by_number[counted]) if counted in by_number else Extraction.not_found()


def _one_of(found: set[int]) -> int | None:
    return next(iter(found)) if len(found) == 1 else None


def _picked_number(text: str, count: int) -> int | None:
    """The option number a message names in digits ("2", "#2") or as an ordinal ("2nd",
    "the first one", "la primera", "le deuxième", "第二個", "the last"); None when it names
    none, or several."""
    normal = unicodedata.normalize("NFKC", text)
    numbers = {int(number) for number in NUMBER_PICK.findall(normal)}
    if numbers:
        return _one_of(numbers)
    ordinals = {int(found) if found.isdigit() else CHINESE_SMALL[found] for found in CHINESE_ORDINAL.findall(normal)}
    words = _plain_words(normal)
    ordinals |= {number for number, spellings in ORDINALS.items() for word in words if word in spellings}
    if any(word in LAST for word in words):
        ordinals.add(count)
    return _one_of(ordinals)


def _counted(text: str) -> int | None:
    """An option number said as a plain number word ("one", "dos"): read after the names,
    since "un" and "una" are also articles."""
    words = _plain_words(text)
    return _one_of({number for number, spellings in CARDINALS.items() for word in words if word in spellings})


def _picked_by_name(text: str, options: Sequence[Choice]) -> Extraction:
    """The option whose whole name is in the message, else the only option one of whose
    distinctive words (in no other option's name or ID) the message has."""
    whole = plain(text)
    said = _plain_words(text)
    named = [option for option in options if plain(option.name) and f" {plain(option.name)} " in f" {whole} "]
    if len(named) == 1:
        return Extraction.found(named[0].event_id)
    words_of = {
        option.event_id: {
            word for word in _plain_words(f"{option.name} {re.sub(r'[-_]|(?<=[a-z])(?=[0-9])', ' ', option.event_id.lower())}")
            if len(word) >= 3 and word not in COMMON_NAME_WORDS
        }
        for option in options
    }
    matched = set()
    for event_id, words in words_of.items():
        others = set().union(*(other for key, other in words_of.items() if key != event_id))
        distinctive = sorted(words - others)
        if any(word in distinctive or (not word.isdigit() and _close(word, distinctive)) for word in said):
            matched.add(event_id)
    return Extraction.found(matched.pop()) if len(matched) == 1 else Extraction.not_found()
