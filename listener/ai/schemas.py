"""The structured answers the model must give, as pydantic models (strict JSON schemas).

The SDK turns each class into a strict `json_schema` response format and parses the
answer back into it; an answer that is not valid JSON or breaks the schema raises, and the
extractor falls back to the rules. Every answer carries a status, so "not found" and
"declined" are states, never magic strings in the value.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from listener.conversation.extraction import GENDERS

Status = Literal["found", "not_found", "declined"]
Gender = Literal[GENDERS]  # type: ignore[valid-type]


class NameAnswer(BaseModel):
    status: Status
    name: str | None = Field(description="The participant's own name as written, without titles or other words.")


class AgeAnswer(BaseModel):
    status: Status
    age: int | None = Field(description="Age in whole years.")


class GenderAnswer(BaseModel):
    status: Status
    gender: Gender | None


class RegionAnswer(BaseModel):
    status: Status
    region: str | None = Field(description="The place as the participant named it, without other words.")


class PickAnswer(BaseModel):
    """One of the options the prompt lists, by its identifier."""

    status: Literal["found", "not_found"]
    pick: str | None


class YesNoAnswer(BaseModel):
    status: Literal["found", "not_found"]
    yes: bool | None
