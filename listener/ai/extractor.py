"""Reading participants' words with an OpenAI model, before the step and off its threads.

The worker asks `OpenAIReader.read` for each reading a message's step will use (a dry run
of the step names them) and hands the results to the step, which itself never waits on a
model. Every question is one `chat.completions.parse` call on the asynchronous client
whose answer must fit a strict pydantic schema (`listener.ai.schemas`); calls share one
bound on how many are in flight, and each has a deadline.

A value the model proposes is evidence, not truth: it is kept only when the rules accept
it and the participant's own words support it (`listener.ai.evidence`); a proposal that
fails that check is read as "not understood", so the question is asked again. When the
model refuses, breaks the schema, times out or is down, the rules' own reading is used.
The model never decides where the conversation goes: it returns a value, the graph's
guards decide.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import TypeVar

import openai
from pydantic import BaseModel

from listener import metrics
from listener.ai import prompts
from listener.ai.cache import AnswerCache
from listener.ai.candidates import event_candidates
from listener.ai.evidence import supported
from listener.ai.rules import RuleExtractor
from listener.ai.schemas import PickAnswer, YesNoAnswer, answer_schema
from listener.conversation.extraction import Choice, Extraction, ReadingRequest
from listener.conversation.questions import Question

log = logging.getLogger(__name__)

A = TypeVar("A", bound=BaseModel)


class OpenAIReader:
    """Asks the model, keeps what the message supports, falls back to the rules."""

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        model: str,
        *,
        rules: RuleExtractor | None = None,
        in_flight: asyncio.Semaphore | None = None,
        deadline_seconds: float = 10.0,
        cache: AnswerCache[Extraction] | None = None,
        questions: Sequence[Question] = (),
    ) -> None:
        self.client = client
        self.model = model
        self.questions = {question.key: question for question in questions}
        self.rules = rules or RuleExtractor()
        self.in_flight = in_flight or asyncio.Semaphore(256)
        self.deadline_seconds = deadline_seconds
        self.cache: AnswerCache[Extraction] = cache or AnswerCache()

    async def read(self, request: ReadingRequest) -> Extraction:
        """The reading the step asked for, by the model where it can help, else the rules."""
        if request.kind == "event_id":
            return await self.event_id(request.text, request.options)
        if request.kind == "choice":
            return await self.choice(request.text, request.choices())
        if request.kind == "answer":
            return await self.answer(self.questions[request.options[0]], request.text)
        return await self.yes_no(request.text)

    # the model ---------------------------------------------------------------------------

    async def _ask(self, schema: type[A], instructions: str, text: str) -> A | None:
        """The model's structured answer, or None when there is no usable one in time."""
        try:
            async with asyncio.timeout(self.deadline_seconds), self.in_flight:
                with metrics.MODEL_LATENCY.time():
                    completion = await self.client.chat.completions.parse(
                        model=self.model,
                        messages=[
                            {"role": "system", "content": instructions},
                            {"role": "user", "content": text},
                        ],
                        response_format=schema,
                        store=False,
                    )
        except (openai.OpenAIError, ValueError, TimeoutError) as exc:
            # ValueError covers pydantic's: invalid JSON or an answer that breaks the schema.
            log.warning("%s reading failed (%s); using the rules", schema.__name__, type(exc).__name__)
            return None
        message = completion.choices[0].message
        if message.refusal or message.parsed is None:
            log.warning("%s reading refused; using the rules", schema.__name__)
            return None
        return message.parsed

    async def _read(
        self,
        key: Hashable,
        ask: Callable[[], Awaitable[A | None]],
        accept: Callable[[A], Extraction],
        fallback: Callable[[], Extraction],
    ) -> Extraction:
        """The model's answer as `accept` judges it, asked once for these words.

        While the model gives no usable answer the rules' reading (`fallback`) stands, and
        is not cached, so the same words are asked again after an outage.
        """
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        answer = await ask()
        if answer is None:
            return fallback()
        found = accept(answer)
        self.cache.put(key, found)
        return found

    # declared questions ------------------------------------------------------------------

    async def answer(self, question: Question, text: str) -> Extraction:
        """The answer to a declared question: the model's value where the rules accept it
        for the question's type and the participant's words carry it."""
        schema = answer_schema(question)

        def accept(answer: BaseModel) -> Extraction:
            status = getattr(answer, "status")
            if status == "declined":
                return _declined(question)
            value = getattr(answer, question.key, None)
            if status != "found" or value is None:
                return Extraction.not_found()
            checked = self.rules.answer(question, str(value).strip() if isinstance(value, str) else _words(value))
            if not (checked.ok and (checked.value == value or isinstance(value, str))):
                return Extraction.not_found()
            proposed = checked.value if isinstance(value, str) else value
            if supported(question, proposed, text, self.rules):
                return Extraction.found(proposed)
            log.info("the model proposed an answer to %r the message does not support; asking again", question.key)
            return Extraction.not_found()

        return await self._read(
            ("answer", question, text), lambda: self._ask(schema, prompts.extraction(question), text), accept,
            lambda: self.rules.answer(question, text),
        )

    # events and confirmations ------------------------------------------------------------

    async def event_id(self, text: str, known_ids: Sequence[str]) -> Extraction:
        """Exact and near-exact IDs by the rules; the model only picks among a few look-alikes."""
        exact = self.rules.event_id(text, known_ids)
        if exact.ok:
            return exact
        candidates = event_candidates(text, known_ids)
        if not candidates:
            return exact
        allowed = {candidate.casefold(): candidate for candidate in candidates}
        return await self._read(
            ("event_id", text, tuple(candidates)),
            lambda: self._ask(PickAnswer, prompts.pick_event(candidates), text),
            lambda answer: _picked(answer, allowed) or exact,
            lambda: exact,
        )

    async def choice(self, text: str, options: Sequence[Choice]) -> Extraction:
        by_rules = self.rules.choice(text, options)
        if by_rules.ok or not options:
            return by_rules
        allowed = {option.event_id.casefold(): option.event_id for option in options}
        allowed.update({str(option.number): option.event_id for option in options})
        return await self._read(
            ("choice", text, tuple((option.number, option.event_id, option.name) for option in options)),
            lambda: self._ask(PickAnswer, prompts.pick_option(options), text),
            lambda answer: _picked(answer, allowed) or by_rules,
            lambda: by_rules,
        )

    async def yes_no(self, text: str) -> Extraction:
        by_rules = self.rules.yes_no(text)
        if by_rules.ok or not text.strip():
            return by_rules

        def accept(answer: YesNoAnswer) -> Extraction:
            if answer.status != "found" or answer.yes is None:
                return Extraction.not_found()
            return Extraction.found(answer.yes)

        return await self._read(
            ("yes_no", text), lambda: self._ask(YesNoAnswer, prompts.yes_no(), text), accept, lambda: by_rules
        )


def _declined(question: Question) -> Extraction:
    """"Prefer not to say": a choice that offers it as an option takes that option."""
    if question.type == "choice" and question.declined in question.options:
        return Extraction.found(question.declined)
    return Extraction.declined()


def _picked(answer: PickAnswer, allowed: dict[str, str]) -> Extraction | None:
    """The option the model picked, if it is one of those offered; None when it picked
    something that was not offered."""
    if answer.status == "not_found":
        return Extraction.not_found()
    chosen = allowed.get((answer.pick or "").strip().casefold())
    return Extraction.found(chosen) if chosen else None


def _words(value: object) -> str:
    """A number or a boolean as the rules read it back ("34", "yes")."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
