"""The `Transcriber` contract: a voice note's audio in, its words out.

The worker calls it after the webhook has answered Twilio and before the engine runs, so
a transcript counts as text in every state. Without an OpenAI key the unavailable
transcriber is used: the voice note is stored untranscribed and the participant is told.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel


class Transcript(BaseModel):
    text: str
    model: str | None = None
    language: str | None = None


class TranscriptionUnavailable(Exception):
    """No transcript now (no key, outage, timeout): store the note untranscribed."""


class Transcriber(Protocol):
    async def transcribe(self, audio: bytes, content_type: str, filename: str) -> Transcript: ...


class UnavailableTranscriber:
    """Used when no transcription service is configured."""

    async def transcribe(self, audio: bytes, content_type: str, filename: str) -> Transcript:
        raise TranscriptionUnavailable("no transcription service is configured (set OPENAI_API_KEY)")
