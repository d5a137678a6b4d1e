"""Voice notes: fetch the audio and add its transcript to the message before the engine runs.

A transcript counts as text in every state, so this happens first. Whatever goes wrong
(no transcriber, the media host, a slow or failing transcriber), the message goes on
without a transcript: the engine still records it with its media and tells the
participant it was saved but not transcribed, and `listener transcribe --pending` can
fill the transcript in later.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes

from listener import metrics
from listener.ai.transcription import (
    Transcriber,
    TranscriptionUnavailable,
    UnavailableTranscriber,
)
from listener.channel.media import MediaError, download_media
from listener.config import Settings
from listener.masking import mask_phone
from listener.models import InboundMessage

log = logging.getLogger(__name__)


def audio_filename(content_type: str) -> str:
    """A file name whose extension tells the transcription service the audio format."""
    extension = {"audio/ogg": ".ogg", "audio/opus": ".ogg", "audio/mpeg": ".mp3", "audio/amr": ".amr"}.get(
        content_type
    ) or mimetypes.guess_extension(content_type) or ".bin"
    return f"voice-note{extension}"


async def with_transcript(message: InboundMessage, transcriber: Transcriber, settings: Settings) -> InboundMessage:
    """The message with its voice note's transcript, or unchanged when there is none."""
    audio = next((item for item in message.media if item.is_audio), None)
    # Without a transcription service, downloading the audio would only be thrown away.
    if audio is None or message.transcript or isinstance(transcriber, UnavailableTranscriber):
        return message
    who = mask_phone(message.participant)
    try:
        data, content_type = await download_media(audio.url, settings)
        async with asyncio.timeout(settings.transcribe_timeout_seconds):
            with metrics.TRANSCRIPTION_LATENCY.time():
                transcript = await transcriber.transcribe(data, content_type, audio_filename(content_type))
    except MediaError as exc:
        log.warning("voice note %s from %s not fetched: %s", message.message_sid, who, exc)
        return message
    except TranscriptionUnavailable as exc:
        log.warning("voice note %s from %s not transcribed: %s", message.message_sid, who, exc)
        return message
    except TimeoutError:
        log.warning(
            "voice note %s from %s: transcription took over %gs",
            message.message_sid, who, settings.transcribe_timeout_seconds,
        )
        return message
    except Exception:
        # A broken transcriber must not hold a participant's messages back.
        log.exception("voice note %s from %s: the transcriber failed", message.message_sid, who)
        return message
    return message.model_copy(
        update={
            "transcript": transcript.text,
            "transcription_model": transcript.model,
            "transcript_language": transcript.language,
        }
    )
