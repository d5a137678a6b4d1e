"""Which language a participant's message is written in, offline.

`py3langid` reads it: the langid.py model (naive Bayes over byte n-grams, 97 languages)
ships inside its wheel, so nothing is fetched at run time; it is maintained, small (about
90 MiB resident, loaded once per process) and fast (under 0.1 ms a message), and it can be
restricted to the languages the flow speaks, so its answer is always one the agent can
speak. `bench/language_id.py` measures it on `tests/golden/languages.yaml` (short
messages, at least 50 a language) against lingua-language-detector in the same run; it
was the more accurate of the two there, with no wrong language (the README gives the
figures).

A message shows its language only when there are enough words to tell: "ok", "34", a
name, an event ID or an emoji never do, whatever a model would guess. So the words are
read without links, numbers and codes (`TOWNHALL7`), and a message must keep at least
`min_words` words and `min_letters` letters (or `min_ideographs` Chinese characters) and
the model must be at least `min_confidence` sure among the flow's languages, or it shows
none.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

from listener.conversation.responding import LINK
from listener.languages import primary

WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
WITH_DIGIT = re.compile(r"\S*\d\S*")
IDEOGRAPH = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

MIN_WORDS = 3
MIN_LETTERS = 12
MIN_IDEOGRAPHS = 4
MIN_CONFIDENCE = 0.7


@cache
def _model(languages: frozenset[str]) -> LanguageIdentifier:
    """One model per set of languages, per process: loading it reads the packaged file."""
    model = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    model.set_languages(sorted(languages))
    return model


@cache
def _known() -> frozenset[str]:
    """The language codes the packaged model knows (ISO 639-1, `zh` for Chinese)."""
    return frozenset(LanguageIdentifier.from_model_file(MODEL_FILE).nb_classes)


def readable_words(text: str) -> str:
    """The words of a message a language shows in: no links, numbers or codes with digits."""
    text = unicodedata.normalize("NFKC", text)
    text = LINK.sub(" ", text)
    text = WITH_DIGIT.sub(" ", text)
    return " ".join(WORD.findall(text))


class LangidIdentifier:
    """`LanguageIdentifier` for the flow's languages (tags it speaks, in its order); a
    language the model does not know (a made-up one) is never shown, only chosen."""

    def __init__(
        self,
        tags: Iterable[str],
        *,
        min_words: int = MIN_WORDS,
        min_letters: int = MIN_LETTERS,
        min_ideographs: int = MIN_IDEOGRAPHS,
        min_confidence: float = MIN_CONFIDENCE,
    ) -> None:
        known = _known()
        self.tags: dict[str, str] = {}
        for tag in tags:
            if primary(tag) in known:
                self.tags.setdefault(primary(tag), tag)
        self.min_words = min_words
        self.min_letters = min_letters
        self.min_ideographs = min_ideographs
        self.min_confidence = min_confidence
        self.model = _model(frozenset(self.tags)) if len(self.tags) >= 2 else None

    def long_enough(self, words: str) -> bool:
        """Enough words to tell a language by (never "ok", "34", a name, an ID)."""
        if len(IDEOGRAPH.findall(words)) >= self.min_ideographs:
            return True
        split = words.split()
        return len(split) >= self.min_words and sum(len(word) for word in split) >= self.min_letters

    def identify(self, text: str) -> str | None:
        if self.model is None:
            return None
        words = readable_words(text)
        if not self.long_enough(words):
            return None
        code, confidence = self.model.classify(words.lower())
        return self.tags.get(code) if confidence >= self.min_confidence else None

