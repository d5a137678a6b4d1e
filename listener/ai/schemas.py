"""The structured answers the model must give, as pydantic models (strict JSON schemas).

The SDK turns each class into a strict `json_schema` response format and parses the
answer back into it; an answer that is not valid JSON or breaks the schema raises, and the
reader falls back to the rules. Every answer carries a status, so "not found" and
"declined" are states, never magic strings in the value. A declared question's schema is
made from its declaration: the value is named by the question's key and typed by its
type (a string, a whole number, one of the options, a boolean).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from listener.conversation.questions import Question

Status = Literal["found", "not_found", "declined"]


class PickAnswer(BaseModel):
    """One of the options the prompt lists, by its identifier."""

    status: Literal["found", "not_found"]
    pick: str | None


class YesNoAnswer(BaseModel):
    status: Literal["found", "not_found"]
    yes: bool | None


def _value_type(question: Question) -> Any:
    if question.type == "number":
        return int
    if question.type == "yes_no":
        return bool
    if question.type == "choice":
        return Literal[tuple(question.options)]  # type: ignore[valid-type]
    return str


@lru_cache(maxsize=256)
def answer_schema(question: Question) -> type[BaseModel]:
    """`<Key>Answer`: the status, and the value under the question's own key."""
    name = "".join(part.capitalize() for part in question.key.split("_")) + "Answer"
    description = question.describe or f"The answer to the question {question.key!r}."
    return create_model(
        name,
        status=(Status, ...),
        **{question.key: (_value_type(question) | None, Field(description=description))},
    )
