"""`Extractor` on an OpenAI model, with the offline rules as validator and fallback.

Every question is one `chat.completions.parse` call whose answer must fit a strict
pydantic schema (`listener.ai.schemas`). What the model proposes is kept only when the
rules accept it too (an age in 0-120, one of the genders, a plausible name that appears
in the message, an event ID among the candidates offered); otherwise, and whenever the
model refuses, breaks the schema, times out or is down, the rules' own reading is used.
The model never decides where the conversation goes: it returns a value, the graph's
guards decide.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

import openai
from pydantic import BaseModel

from listener import metrics
from listener.ai import prompts
from listener.ai.cache import AnswerCache
from listener.ai.candidates import event_candidates
from listener.ai.rules import RuleExtractor
from listener.ai.schemas import (
    AgeAnswer,
    GenderAnswer,
    NameAnswer,
    PickAnswer,
    RegionAnswer,
    YesNoAnswer,
)
from listener.conversation.extraction import Choice, Extraction

log = logging.getLogger(__name__)

A = TypeVar("A", bound=BaseModel)


class OpenAIExtractor:
    """Asks the model, keeps what the rules validate, falls back to the rules."""

    def __init__(
        self,
        client: openai.OpenAI,
        model: str,
        rules: RuleExtractor | None = None,
        cache: AnswerCache[Extraction] | None = None,
    ) -> None:
        self.client = client
        self.model = model
        self.rules = rules or RuleExtractor()
        self.cache: AnswerCache[Extraction] = cache or AnswerCache()

    # the model ---------------------------------------------------------------------------

    def _ask(self, schema: type[A], instructions: str, text: str) -> A | None:
        """The model's structured answer, or None when there is no usable one."""
        try:
            with metrics.MODEL_LATENCY.time():
                completion = self.client.chat.completions.parse(
                    model=self.model,
                    messages=[
                        {"role": "system", "content": instructions},
                        {"role": "user", "content": text},
                    ],
                    response_format=schema,
                    store=False,
                )
        except (openai.OpenAIError, ValueError) as exc:
            # ValueError covers pydantic's: invalid JSON or an answer that breaks the schema.
            log.warning("%s extraction failed (%s); using the rules", schema.__name__, type(exc).__name__)
            return None
        message = completion.choices[0].message
        if message.refusal or message.parsed is None:
            log.warning("%s extraction refused; using the rules", schema.__name__)
            return None
        return message.parsed

    def _read(
        self,
        key: Hashable,
        ask: Callable[[], A | None],
        accept: Callable[[A], Extraction | None],
        fallback: Callable[[], Extraction],
    ) -> Extraction:
        """The model's answer as `accept` validates it, asked once for these words.

        The rules' reading (`fallback`) replaces an answer `accept` rejects, and is the
        reading while the model gives no usable answer; only the latter is not cached, so
        the same words are asked again after an outage.
        """
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        answer = ask()
        if answer is None:
            return fallback()
        found = accept(answer) or fallback()
        self.cache.put(key, found)
        return found

    # profile fields ----------------------------------------------------------------------

    def name(self, text: str) -> Extraction:
        def accept(answer: NameAnswer) -> Extraction | None:
            if answer.status != "found":
                return _status(answer.status)
            return _valid(self.rules.validate_name((answer.name or "").strip(), text))

        return self._read(
            ("name", text), lambda: self._ask(NameAnswer, prompts.extraction("name"), text), accept,
            lambda: self.rules.name(text),
        )

    def age(self, text: str) -> Extraction:
        def accept(answer: AgeAnswer) -> Extraction | None:
            if answer.status != "found":
                return _status(answer.status)
            if answer.age is None:
                return None
            checked = self.rules.age(str(answer.age))
            return checked if checked.ok and checked.value == answer.age else None

        return self._read(
            ("age", text), lambda: self._ask(AgeAnswer, prompts.extraction("age"), text), accept,
            lambda: self.rules.age(text),
        )

    def gender(self, text: str) -> Extraction:
        def accept(answer: GenderAnswer) -> Extraction | None:
            if answer.status == "declined":
                # As the rules read a refusal: an answer, "prefer not to say".
                return self.rules.gender("prefer not to say")
            if answer.status == "not_found":
                return Extraction.not_found()
            return Extraction.found(answer.gender) if answer.gender else None

        return self._read(
            ("gender", text), lambda: self._ask(GenderAnswer, prompts.extraction("gender"), text), accept,
            lambda: self.rules.gender(text),
        )

    def region(self, text: str) -> Extraction:
        def accept(answer: RegionAnswer) -> Extraction | None:
            if answer.status != "found":
                return _status(answer.status)
            return _valid(self.rules.region((answer.region or "").strip()))

        return self._read(
            ("region", text), lambda: self._ask(RegionAnswer, prompts.extraction("region"), text), accept,
            lambda: self.rules.region(text),
        )

    # events and confirmations ------------------------------------------------------------

    def event_id(self, text: str, known_ids: Sequence[str]) -> Extraction:
        """Exact and near-exact IDs by the rules; the model only picks among a few look-alikes."""
        exact = self.rules.event_id(text, known_ids)
        if exact.ok:
            return exact
        candidates = event_candidates(text, known_ids)
        if not candidates:
            return exact
        allowed = {candidate.casefold(): candidate for candidate in candidates}
        return self._read(
            ("event_id", text, tuple(candidates)),
            lambda: self._ask(PickAnswer, prompts.pick_event(candidates), text),
            lambda answer: _picked(answer, allowed),
            lambda: exact,
        )

    def choice(self, text: str, options: Sequence[Choice]) -> Extraction:
        by_rules = self.rules.choice(text, options)
        if by_rules.ok or not options:
            return by_rules
        allowed = {option.event_id.casefold(): option.event_id for option in options}
        allowed.update({str(option.number): option.event_id for option in options})
        return self._read(
            ("choice", text, tuple((option.number, option.event_id, option.name) for option in options)),
            lambda: self._ask(PickAnswer, prompts.pick_option(options), text),
            lambda answer: _picked(answer, allowed),
            lambda: by_rules,
        )

    def yes_no(self, text: str) -> Extraction:
        by_rules = self.rules.yes_no(text)
        if by_rules.ok or not text.strip():
            return by_rules

        def accept(answer: YesNoAnswer) -> Extraction | None:
            if answer.status != "found":
                return Extraction.not_found()
            return Extraction.found(answer.yes) if answer.yes is not None else None

        return self._read(("yes_no", text), lambda: self._ask(YesNoAnswer, prompts.yes_no(), text), accept, lambda: by_rules)


def _status(status: str) -> Extraction:
    """A 'not found' or 'declined' answer as it is."""
    return Extraction.declined() if status == "declined" else Extraction.not_found()


def _valid(checked: Extraction) -> Extraction | None:
    return checked if checked.ok else None


def _picked(answer: PickAnswer, allowed: dict[str, str]) -> Extraction | None:
    """The option the model picked, if it is one of those offered."""
    if answer.status == "not_found":
        return Extraction.not_found()
    chosen = allowed.get((answer.pick or "").strip().casefold())
    return Extraction.found(chosen) if chosen else None
