"""The `Extractor` contract: turn a participant's words into typed profile values.

The step reads answers through it synchronously and never waits on a model: the offline
rules answer, unless a reading of the same words was made before the step (by the model,
asynchronously, off the engine's threads) and handed in. `PreparedExtractor` is that
meeting point: it serves the readings made beforehand, falls back to the rules, and
records what the step asked, so a dry run of the step tells the worker what to read.

An extraction is always one of found / not found / declined, never a magic string, and a
found value is already valid (an age in 0-120, a known event ID).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from pydantic import BaseModel

from listener.conversation.questions import Question


class Extraction(BaseModel):
    status: Literal["found", "not_found", "declined"]
    value: str | int | bool | None = None

    @classmethod
    def found(cls, value: str | int | bool) -> Extraction:
        return cls(status="found", value=value)

    @classmethod
    def not_found(cls) -> Extraction:
        return cls(status="not_found")

    @classmethod
    def declined(cls) -> Extraction:
        return cls(status="declined")

    @property
    def ok(self) -> bool:
        return self.status == "found"


class Choice(BaseModel):
    """One option of a numbered list offered to the participant."""

    number: int
    event_id: str
    name: str


class Extractor(Protocol):
    def event_id(self, text: str, known_ids: Sequence[str]) -> Extraction:
        """The known event ID the text mentions (value: the ID as stored)."""

    def answer(self, question: Question, text: str) -> Extraction:
        """The answer to a declared question, valid for its type (a number in its range,
        one of its options...); declined ("prefer not to say") is its own status."""

    def yes_no(self, text: str) -> Extraction:
        """True for yes, False for no."""

    def choice(self, text: str, options: Sequence[Choice]) -> Extraction:
        """The event ID of the option the text picks, by number, ID or name."""


@dataclass(frozen=True)
class ReadingRequest:
    """One question the step asked of the participant's words: the extractor method (`kind`),
    the words, and what it chose among (known event IDs, offered choices, the question's key)."""

    kind: str
    text: str
    options: tuple = ()

    def choices(self) -> list[Choice]:
        return [Choice(number=number, event_id=event_id, name=name) for number, event_id, name in self.options]


def _choice_options(options: Sequence[Choice]) -> tuple:
    return tuple((option.number, option.event_id, option.name) for option in options)


Readings = Mapping[ReadingRequest, Extraction]


class Reader(Protocol):
    """Reads a participant's words before the step, asynchronously (the model)."""

    async def read(self, request: ReadingRequest) -> Extraction: ...


class PreparedExtractor:
    """What the step reads through: a reading made before the step when there is one,
    else the offline extractor's. Every question asked is kept in `asked`."""

    def __init__(self, offline: Extractor, readings: Readings | None = None) -> None:
        self.offline = offline
        self.readings = readings or {}
        self.asked: list[ReadingRequest] = []

    def _read(self, request: ReadingRequest, offline: Callable[[], Extraction]) -> Extraction:
        self.asked.append(request)
        prepared = self.readings.get(request)
        return prepared if prepared is not None else offline()

    def event_id(self, text: str, known_ids: Sequence[str]) -> Extraction:
        request = ReadingRequest("event_id", text, tuple(known_ids))
        return self._read(request, lambda: self.offline.event_id(text, known_ids))

    def answer(self, question: Question, text: str) -> Extraction:
        request = ReadingRequest("answer", text, (question.key,))
        return self._read(request, lambda: self.offline.answer(question, text))

    def yes_no(self, text: str) -> Extraction:
        return self._read(ReadingRequest("yes_no", text), lambda: self.offline.yes_no(text))

    def choice(self, text: str, options: Sequence[Choice]) -> Extraction:
        request = ReadingRequest("choice", text, _choice_options(options))
        return self._read(request, lambda: self.offline.choice(text, options))
