"""`listener transcribe --pending`: transcribe the voice notes stored without a transcript.

A voice note that could not be transcribed when it arrived (no key then, an OpenAI
outage, a timeout) was stored with its media and the participant was told it was saved.
This fills those transcripts in: download each from Twilio, transcribe, save the text,
model and language on the stored record. The conversation is not run again: the message
already had its effect. Output names message IDs and counts, never the words.
Exit 0 when every pending note was transcribed (or none was pending), 1 when any failed.
"""

from __future__ import annotations

import argparse
import asyncio

from listener.ai.transcription import TranscriptionUnavailable, UnavailableTranscriber
from listener.channel.media import MediaError, download_media
from listener.cli.common import CommandError, open_runtime
from listener.models import Interaction
from listener.processing.voice import audio_filename
from listener.runtime import Runtime


class NotTranscribed(Exception):
    """One note failed (download, transcription, saving); the others still go ahead."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("transcribe", help="transcribe voice notes stored without a transcript")
    parser.add_argument(
        "--pending", action="store_true", required=True, help="every stored voice note that has no transcript yet"
    )
    parser.add_argument("--event", metavar="EVENT_ID", help="only this event's voice notes")
    parser.add_argument("--limit", type=int, metavar="N", help="at most N voice notes")
    parser.set_defaults(handler=transcribe_pending)


def pending_voice_notes(runtime: Runtime, event_id: str | None, limit: int | None) -> list[Interaction]:
    """Inbound records with an audio attachment and no transcript, oldest first."""
    found = []
    for interaction in runtime.store.iter_interactions(event_id=event_id):
        if interaction.direction == "in" and interaction.transcript is None and any(m.is_audio for m in interaction.media):
            found.append(interaction)
            if limit is not None and len(found) >= limit:
                break
    return found


async def _transcribe_one(runtime: Runtime, note: Interaction) -> str:
    """A one-line summary of the saved transcript; `NotTranscribed` with the reason if not."""
    audio = next(media for media in note.media if media.is_audio)
    try:
        data, content_type = await download_media(audio.url, runtime.settings)
        async with asyncio.timeout(runtime.settings.transcribe_timeout_seconds):
            transcript = await runtime.transcriber.transcribe(data, content_type, audio_filename(content_type))
    except (MediaError, TranscriptionUnavailable) as exc:
        raise NotTranscribed(str(exc)) from exc
    except TimeoutError as exc:
        raise NotTranscribed(f"took over {runtime.settings.transcribe_timeout_seconds:g}s") from exc
    if not await asyncio.to_thread(
        runtime.store.save_transcript, note.id, transcript.text, transcript.model, transcript.language
    ):
        raise NotTranscribed("the record is gone")
    words = len(transcript.text.split())
    return f"{words} words, language {transcript.language or 'not reported'}, model {transcript.model}"


async def _transcribe_all(runtime: Runtime, notes: list[Interaction]) -> int:
    failed = 0
    try:
        for note in notes:
            try:
                print(f"{note.id}: transcribed ({await _transcribe_one(runtime, note)})")
            except NotTranscribed as exc:
                failed += 1
                print(f"{note.id}: not transcribed: {exc}")
    finally:
        await runtime.close_model()
    return failed


def transcribe_pending(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 1:
        raise CommandError("--limit must be at least 1", exit_code=2)
    runtime = open_runtime()
    try:
        if isinstance(runtime.transcriber, UnavailableTranscriber):
            raise CommandError("no transcription service is configured: set OPENAI_API_KEY")
        notes = pending_voice_notes(runtime, args.event, args.limit)
        if not notes:
            print("no voice notes are waiting for a transcript")
            return 0
        failed = asyncio.run(_transcribe_all(runtime, notes))
    finally:
        runtime.close()
    print(f"transcribed {len(notes) - failed} of {len(notes)} voice notes" + (f"; {failed} failed" if failed else ""))
    return 1 if failed else 0
