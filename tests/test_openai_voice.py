"""A real WhatsApp-style voice note (Opus in Ogg) through the OpenAI transcriber, against
the fake server, and its transcript through the engine into the stored interaction.

`fixtures/audio/voice-note.ogg` (5 KB) was made with
`espeak-ng -w voice.wav "Hi, I am at climate twenty four."` and
`ffmpeg -i voice.wav -ac 1 -ar 16000 -c:a libopus -b:a 16k -application voip voice-note.ogg`;
it is committed so the tests need neither tool.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from fake_openai import Answer
from harness import Conversation, make_engine
from openai_support import fake, settings_for  # noqa: F401

from listener.ai.transcription import Transcript, TranscriptionUnavailable
from listener.models import Media
from listener.runtime import build_runtime
from listener.store.sqlite import SQLiteStore

VOICE_NOTE = (Path(__file__).parent / "fixtures" / "audio" / "voice-note.ogg").read_bytes()
HEARD = "Hi, I am at Climate 24."


def transcribe(fake, content_type="audio/ogg; codecs=opus", filename="voice-note", **overrides) -> Transcript:
    transcriber = build_runtime(settings_for(fake, **overrides), store=SQLiteStore(":memory:")).transcriber
    return asyncio.run(transcriber.transcribe(VOICE_NOTE, content_type, filename))


def test_the_fixture_is_opus_in_ogg():
    assert VOICE_NOTE.startswith(b"OggS") and b"OpusHead" in VOICE_NOTE[:512]
    assert 1_000 < len(VOICE_NOTE) < 20_000


def test_a_voice_note_is_uploaded_as_ogg_without_transcoding(fake):
    fake.add_transcript(VOICE_NOTE, HEARD, language="en")
    transcript = transcribe(fake)
    assert transcript == Transcript(text=HEARD, model="test-transcribe-model", language="en")
    upload = fake.requests[0]
    assert upload.path.endswith("/audio/transcriptions")
    assert upload.file == ("voice-note.ogg", "audio/ogg", VOICE_NOTE)
    assert upload.form == {"model": "test-transcribe-model", "response_format": "json"}


def test_verbose_json_reports_the_detected_language(fake):
    fake.add_transcript(VOICE_NOTE, "Hola, estoy en Climate 24.", language="spanish")
    transcript = transcribe(fake, OPENAI_TRANSCRIBE_FORMAT="verbose_json")
    assert (transcript.text, transcript.language) == ("Hola, estoy en Climate 24.", "spanish")


@pytest.mark.parametrize("answer", [Answer.error(500), Answer.error(429)], ids=["500", "429"])
def test_an_outage_is_transcription_unavailable_after_the_retries(fake, answer):
    fake.always(answer)
    with pytest.raises(TranscriptionUnavailable):
        transcribe(fake, OPENAI_MAX_RETRIES=2)
    assert len(fake.requests) == 3


def test_a_slow_transcription_is_unavailable_in_about_the_timeout(fake):
    fake.always(Answer.sleep(3.0))
    started = time.monotonic()
    with pytest.raises(TranscriptionUnavailable):
        transcribe(fake, OPENAI_TIMEOUT_SECONDS=0.3, OPENAI_MAX_RETRIES=0)
    assert time.monotonic() - started < 2.5


def test_the_transcript_drives_the_conversation_and_is_stored(fake, store):
    fake.add_transcript(VOICE_NOTE, HEARD, language="en")
    transcript = transcribe(fake)
    chat = Conversation(make_engine(store))
    message = chat.message(
        "", transcript=transcript.text,
        media=[Media(url="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", content_type="audio/ogg")],
    ).model_copy(update={"transcription_model": transcript.model, "transcript_language": transcript.language})
    replies = chat.deliver(message)
    assert chat.snapshot.current_event_id == "CLIMATE24"  # the spoken words named the event
    assert replies[-1].startswith("What's your name")
    stored = next(i for i in store.iter_interactions(participant=chat.participant) if i.id == message.message_sid)
    assert (stored.transcript, stored.transcription_model, stored.transcript_language) == (
        HEARD, "test-transcribe-model", "en")
    assert stored.media[0].content_type == "audio/ogg"
