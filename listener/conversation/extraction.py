"""The `Extractor` contract: turn a participant's words into typed profile values.

The offline rules and the OpenAI extractor both keep it, and both pass the same golden
table of cases. An extraction is always one of found / not found / declined, never a magic
string, and a found value is already valid (an age in 0-120, a known event ID).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

from pydantic import BaseModel

GENDERS = ("female", "male", "non-binary", "other", "prefer not to say")
ANONYMOUS = "Anonymous"


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

    def name(self, text: str) -> Extraction:
        """A person's name; declined ("anonymous", "prefer not to say") is its own status."""

    def age(self, text: str) -> Extraction:
        """A whole number 0-120, in digits or words."""

    def gender(self, text: str) -> Extraction:
        """One of GENDERS."""

    def region(self, text: str) -> Extraction:
        """A cleaned place name."""

    def yes_no(self, text: str) -> Extraction:
        """True for yes, False for no."""

    def choice(self, text: str, options: Sequence[Choice]) -> Extraction:
        """The event ID of the option the text picks, by number, ID or name."""
