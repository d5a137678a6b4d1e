"""The `Responder` contract: the one- or two-sentence acknowledgement while listening.

The template responder rotates through the graph's acknowledgement texts; the OpenAI
responder writes one in the event's voice and falls back to the template. Either way the
reply is trimmed to at most two sentences before it is sent.
"""

from __future__ import annotations

import re
from typing import Protocol

from pydantic import BaseModel

from listener.models import EventConfig

MAX_SENTENCES = 2
MAX_CHARACTERS = 320
SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+")


class AckRequest(BaseModel):
    """What a responder may use to acknowledge one contribution."""

    text: str
    event: EventConfig
    name: str = ""
    count: int = 0
    template: str


class Responder(Protocol):
    def acknowledge(self, request: AckRequest) -> str | None:
        """The acknowledgement to send, or None to stay silent."""


class TemplateResponder:
    """Sends the graph's rotating acknowledgement as it is."""

    def acknowledge(self, request: AckRequest) -> str | None:
        return enforce_brevity(request.template)


def enforce_brevity(text: str) -> str:
    """At most two sentences and a few hundred characters, cut at a word boundary."""
    sentences = SENTENCE_END.split(text.strip())
    short = " ".join(sentences[:MAX_SENTENCES]).strip()
    if len(short) > MAX_CHARACTERS:
        short = short[:MAX_CHARACTERS].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return short
