"""Profile questions declared in the flow file: one entry per question, its type and texts.

A designer adds a question with YAML alone: its key (the field the answer is stored
under, and the event's `<key>_extraction` switch), its type (what kind of answer it
takes), the words that ask it and ask it again, and how many tries it gets. The loader
makes the question's state, its route and its place in the groups from these entries;
the readers (offline rules, the model) read an answer by its type; exports, the
`listener events` commands, the console and the model's prompts follow the declared keys.

Types:
  text     free text, `min_length` to `max_length` characters and at most `max_words`
           words; `shape: name` reads a person's name ("my name is Ana" -> "Ana"),
           `shape: place` a town or region ("I live in Leeds" -> "Leeds"), `shape: any`
           the words as written; `leads` adds introductions to strip
  number   a whole number from `min` to `max`, in digits or in words
  choice   one of `options`, each with the synonyms people write for it: one list, or a
           list per language (every synonym is understood whatever the language)
  yes_no   yes or no, in the participant's words

`ask` and `reask` are written in each language the flow ships (`{en: ..., es: ...}`); a
plain string is English.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from listener.languages import LanguageTag, as_localized

Localized = Annotated[dict[LanguageTag, str | list[str]], BeforeValidator(as_localized)]
"""A text in each language: a map of language tag to text (a list: texts said in turn);
a plain string or list is English."""

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class _Question(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(description="the field the answer is stored under; events switch it on with `<key>_extraction`")
    ask: Localized = Field(description="what the participant is asked, in each language")
    reask: Localized | None = Field(default=None, description="asked again after an answer that could not be read")
    attempts: int | None = Field(default=None, ge=1, description="answers read before the question is skipped")
    asked_by_default: bool = Field(default=False, description="asked unless the event turns it off")
    declined: str | None = Field(
        default=None, description='what "prefer not to say" is stored as (nothing when unset)'
    )
    describe: str | None = Field(default=None, description="what the answer means, for the model")
    carry_over: bool = Field(default=False, description="an answer given in one event is kept in the next ones")

    def __hash__(self) -> int:
        return hash(self.model_dump_json())

    @field_validator("key")
    @classmethod
    def _plain_key(cls, value: str) -> str:
        if not KEY_PATTERN.match(value):
            raise ValueError("a question key is lower-case letters, digits and '_', starting with a letter")
        return value

    @property
    def state(self) -> str:
        """The waiting state the loader makes for this question."""
        return f"asking_{self.key}"

    @property
    def ask_text(self) -> str:
        return f"ask_{self.key}"

    @property
    def reask_text(self) -> str:
        return f"reask_{self.key}"


class TextQuestion(_Question):
    type: Literal["text"]
    shape: Literal["name", "place", "any"] = "any"
    min_length: int = Field(default=1, ge=1)
    max_length: int = Field(default=80, ge=1, le=1000)
    max_words: int | None = Field(default=None, ge=1)
    leads: tuple[str, ...] = Field(default=(), description="introductions stripped before the answer")

    @model_validator(mode="after")
    def _lengths(self) -> TextQuestion:
        if self.min_length > self.max_length:
            raise ValueError("min_length is more than max_length")
        return self


class NumberQuestion(_Question):
    type: Literal["number"]
    min: int
    max: int

    @model_validator(mode="after")
    def _range(self) -> NumberQuestion:
        if self.min > self.max:
            raise ValueError("min is more than max")
        return self


class ChoiceQuestion(_Question):
    type: Literal["choice"]
    options: dict[str, tuple[str, ...]] = Field(min_length=2, description="each value with the synonyms people write for it")
    synonym_languages: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="the languages each option's synonyms were given in, when given by language"
    )

    @model_validator(mode="before")
    @classmethod
    def _synonym_lists(cls, data: object) -> object:
        """Synonyms given by language are understood in any language: one list per option,
        the languages they were given in kept for the flow's check."""
        if not isinstance(data, dict) or not isinstance(data.get("options"), dict):
            return data
        options: dict[str, object] = {}
        languages: dict[str, tuple[str, ...]] = {}
        for key, synonyms in data["options"].items():
            if isinstance(synonyms, dict):
                by_language = as_localized(synonyms)
                languages[str(key)] = tuple(by_language)
                synonyms = [word for words in by_language.values() for word in (words or [])]
            options[str(key)] = () if synonyms is None else synonyms
        return {**data, "options": options, "synonym_languages": languages}


class YesNoQuestion(_Question):
    type: Literal["yes_no"]


Question = Annotated[TextQuestion | NumberQuestion | ChoiceQuestion | YesNoQuestion, Field(discriminator="type")]
