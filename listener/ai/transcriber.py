"""`Transcriber` on OpenAI's speech-to-text endpoint, for WhatsApp voice notes.

WhatsApp voice notes are Opus in an Ogg container (`audio/ogg; codecs=opus`), which the
API reads as it is: no transcoding, only a file name whose extension names the container
(Twilio's media URLs have none). The transcript keeps the model that wrote it and the
language the API detected, when the chosen model and response format report one
(`verbose_json` with whisper-class models; the `languages` list of newer models).
Any failure, after the client's own timeout and retries, is `TranscriptionUnavailable`:
the note is then stored untranscribed and `listener transcribe --pending` tries again.
"""

from __future__ import annotations

import logging
from pathlib import PurePosixPath

import openai

from listener.ai.transcription import Transcript, TranscriptionUnavailable

log = logging.getLogger(__name__)

# Containers the API accepts, by the media type WhatsApp / Twilio report.
EXTENSIONS = {
    "audio/ogg": ".ogg",
    "audio/opus": ".ogg",
    "application/ogg": ".ogg",
    "audio/mpeg": ".mp3",
    "audio/mp3": ".mp3",
    "audio/mp4": ".m4a",
    "audio/m4a": ".m4a",
    "audio/x-m4a": ".m4a",
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/webm": ".webm",
    "audio/flac": ".flac",
}


def upload_name(filename: str, content_type: str) -> tuple[str, str]:
    """The file name and media type to upload: the extension follows the media type."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    extension = EXTENSIONS.get(media_type)
    stem = PurePosixPath(filename or "voice-note").stem or "voice-note"
    if extension is None:
        return filename or stem, media_type or "application/octet-stream"
    if media_type in ("audio/opus", "application/ogg"):
        media_type = "audio/ogg"
    return stem + extension, media_type


class OpenAITranscriber:
    def __init__(self, client: openai.AsyncOpenAI, model: str, response_format: str = "json") -> None:
        self.client = client
        self.model = model
        self.response_format = response_format

    async def transcribe(self, audio: bytes, content_type: str, filename: str) -> Transcript:
        name, media_type = upload_name(filename, content_type)
        try:
            result = await self.client.audio.transcriptions.create(
                file=(name, audio, media_type),
                model=self.model,
                response_format=self.response_format,
            )
        except openai.OpenAIError as exc:
            log.warning("transcription failed (%s)", type(exc).__name__)
            raise TranscriptionUnavailable(f"transcription failed: {type(exc).__name__}") from exc
        return Transcript(text=result.text.strip(), model=self.model, language=_language(result))


def _language(result: object) -> str | None:
    """The detected language, from whichever field this model and format report it in."""
    language = getattr(result, "language", None)
    if language:
        return str(language)
    detected = getattr(result, "languages", None) or []
    return str(detected[0].code) if detected else None
