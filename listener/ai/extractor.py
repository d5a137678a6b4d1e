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

from listener.ai import prompts
from listener.ai.cache import AnswerCache
from listener.ai.candidates import event_candidates
from listener.ai.schemas import AgeAnswer, GenderAnswer, NameAnswer, PickAnswer, RegionAnswer, YesNoAnswer
from listener.extract.base import Choice, Extraction
from listener.extract.rules import RuleExtractor

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

    def _cached(self, key: Hashable, compute: Callable[[], Extraction | None], fallback: Callable[[], Extraction]) -> Extraction:
        """The model's reading of these words, asked once; the rules' when there is none.

        Only model answers are kept: after an outage the same words are asked again.
        """
        found = self.cache.get(key)
        if found is None:
            found = compute()
            if found is None:
                return fallback()
            self.cache.put(key, found)
        return found

    # profile fields ----------------------------------------------------------------------

    def name(self, text: str) -> Extraction:
        def ask() -> Extraction | None:
            answer = self._ask(NameAnswer, prompts.extraction("name"), text)
            if answer is None or answer.status != "found":
                return _status_only(answer)
            checked = self.rules.validate_name((answer.name or "").strip(), text)
            return checked if checked.ok else None

        return self._cached(("name", text), ask, lambda: self.rules.name(text))

    def age(self, text: str) -> Extraction:
        def ask() -> Extraction | None:
            answer = self._ask(AgeAnswer, prompts.extraction("age"), text)
            if answer is None or answer.status != "found":
                return _status_only(answer)
            if answer.age is None:
                return None
            checked = self.rules.age(str(answer.age))
            return checked if checked.ok and checked.value == answer.age else None

        return self._cached(("age", text), ask, lambda: self.rules.age(text))

    def gender(self, text: str) -> Extraction:
        def ask() -> Extraction | None:
            answer = self._ask(GenderAnswer, prompts.extraction("gender"), text)
            if answer is None:
                return None
            if answer.status == "declined":
                # The rules' reading of a refusal: it is an answer, "prefer not to say".
                return self.rules.gender("prefer not to say")
            if answer.status == "not_found":
                return Extraction.not_found()
            return Extraction.found(answer.gender) if answer.gender else None

        return self._cached(("gender", text), ask, lambda: self.rules.gender(text))

    def region(self, text: str) -> Extraction:
        def ask() -> Extraction | None:
            answer = self._ask(RegionAnswer, prompts.extraction("region"), text)
            if answer is None or answer.status != "found":
                return _status_only(answer)
            checked = self.rules.region((answer.region or "").strip())
            return checked if checked.ok else None

        return self._cached(("region", text), ask, lambda: self.rules.region(text))

    # events and confirmations ------------------------------------------------------------

    def event_id(self, text: str, known_ids: Sequence[str]) -> Extraction:
        """Exact and near-exact IDs by the rules; the model only picks among a few look-alikes."""
        exact = self.rules.event_id(text, known_ids)
        if exact.ok:
            return exact
        candidates = event_candidates(text, known_ids)
        if not candidates:
            return exact

        def ask() -> Extraction | None:
            answer = self._ask(PickAnswer, prompts.pick_event(candidates), text)
            return _picked(answer, {c.casefold(): c for c in candidates})

        return self._cached(("event_id", text, tuple(candidates)), ask, lambda: exact)

    def choice(self, text: str, options: Sequence[Choice]) -> Extraction:
        by_rules = self.rules.choice(text, options)
        if by_rules.ok or not options:
            return by_rules
        allowed = {option.event_id.casefold(): option.event_id for option in options}
        allowed.update({str(option.number): option.event_id for option in options})

        def ask() -> Extraction | None:
            return _picked(self._ask(PickAnswer, prompts.pick_option(options), text), allowed)

        key = ("choice", text, tuple((o.number, o.event_id, o.name) for o in options))
        return self._cached(key, ask, lambda: by_rules)

    def yes_no(self, text: str) -> Extraction:
        by_rules = self.rules.yes_no(text)
        if by_rules.ok or not text.strip():
            return by_rules

        def ask() -> Extraction | None:
            answer = self._ask(YesNoAnswer, prompts.yes_no(), text)
            if answer is None or answer.status != "found":
                return _status_only(answer)
            return Extraction.found(answer.yes) if answer.yes is not None else None

        return self._cached(("yes_no", text), ask, lambda: by_rules)


def _status_only(answer: NameAnswer | AgeAnswer | RegionAnswer | YesNoAnswer | None) -> Extraction | None:
    """A 'not found' or 'declined' answer as it is; None (use the rules) when there was none."""
    if answer is None:
        return None
    return Extraction.declined() if answer.status == "declined" else Extraction.not_found()


def _picked(answer: PickAnswer | None, allowed: dict[str, str]) -> Extraction | None:
    """The option the model picked, if it is one of those offered."""
    if answer is None:
        return None
    if answer.status == "not_found":
        return Extraction.not_found()
    chosen = allowed.get((answer.pick or "").strip().casefold())
    return Extraction.found(chosen) if chosen else None

