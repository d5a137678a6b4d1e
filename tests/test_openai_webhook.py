"""The webhook with OpenAI configured (the fake server behind OPENAI_BASE_URL): a real Opus
voice note from the Twilio webhook through download and transcription into the stored
interaction and the engine; fast webhook answers while the model sleeps; the backlog of
untranscribed notes filled in by `listener transcribe --pending`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fake_openai import Answer, FakeOpenAI
from fake_twilio import ACCOUNT_SID, AUTH_TOKEN
from webhook_support import db_path, fake_twilio, message_form, start_app, wait_for  # noqa: F401

VOICE_NOTE = (Path(__file__).parent / "fixtures" / "audio" / "voice-note.ogg").read_bytes()
HEARD = "Hi, I am at Climate 24."
PARTICIPANT = "+15550007777"


@pytest.fixture
def openai_fake():
    with FakeOpenAI() as server:
        yield server


def openai_settings(fake: FakeOpenAI, **overrides) -> dict:
    values = dict(
        openai_api_key="sk-test",
        openai_base_url=fake.base_url,
        openai_model="test-chat-model",
        openai_transcribe_model="test-transcribe-model",
        openai_timeout_seconds=2.0,
        openai_max_retries=1,
    )
    values.update(overrides)
    return values


def post_voice_note(server, fake_twilio, sid: str) -> float:
    """Post a voice-note webhook; how long the webhook took to answer."""
    form = message_form(sid, PARTICIPANT, "", media=[(fake_twilio.add_media(VOICE_NOTE, "audio/ogg"), "audio/ogg")])
    started = time.monotonic()
    assert server.post("/message", form).status_code == 200
    return time.monotonic() - started


def stored(server, sid: str):
    return next(i for i in server.store.iter_interactions(participant=PARTICIPANT) if i.id == sid)


def test_a_voice_note_travels_from_the_webhook_into_the_stored_interaction(start_app, fake_twilio, openai_fake):
    openai_fake.add_transcript(VOICE_NOTE, HEARD, language="en")
    server = start_app(**openai_settings(openai_fake))
    sid = "SM" + "a1" * 16
    post_voice_note(server, fake_twilio, sid)
    wait_for(lambda: server.settled([sid]), what="the voice note to be processed")

    note = stored(server, sid)
    assert (note.transcript, note.transcription_model, note.transcript_language) == (
        HEARD, "test-transcribe-model", "en")
    upload = openai_fake.requests[0]
    assert upload.file == ("voice-note.ogg", "audio/ogg", VOICE_NOTE)
    # The engine read the transcript: the spoken event ID joined the participant to it.
    assert server.store.load_participant(PARTICIPANT).current_event_id == "CLIMATE24"
    assert fake_twilio.sent_to(PARTICIPANT)[-1].startswith("What's your name")


def test_the_webhook_answers_at_once_while_the_model_sleeps(start_app, fake_twilio, openai_fake):
    openai_fake.always(Answer.sleep(8.0, Answer.json({"status": "found", "name": "Late"})))
    server = start_app(**openai_settings(openai_fake, openai_timeout_seconds=4.0, openai_max_retries=0))
    first, second = "SM" + "b1" * 16, "SM" + "b2" * 16
    assert server.post("/message", message_form(first, PARTICIPANT, "hi, I'm at CLIMATE24")).status_code == 200
    wait_for(lambda: server.settled([first]), what="the event to be joined")

    started = time.monotonic()
    assert server.post("/message", message_form(second, PARTICIPANT, "my name is Alex")).status_code == 200
    assert time.monotonic() - started < 2.0  # the model holds it 4 s (its timeout); the webhook does not wait
    wait_for(lambda: openai_fake.chat_requests(), what="the worker to ask the model")
    wait_for(lambda: server.settled([second]), timeout=15, what="the fallback to answer")
    profile = server.store.get_profile("CLIMATE24", PARTICIPANT)
    assert profile["name"] == "Alex"  # the rules' reading, after the model timed out


def run_cli(db: Path, fake_twilio, openai_fake: FakeOpenAI) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "STORE_URL": f"sqlite:///{db}",
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_BASE_URL": openai_fake.base_url,
        "OPENAI_TRANSCRIBE_MODEL": "test-transcribe-model",
        "OPENAI_MAX_RETRIES": "0",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_API_URL": fake_twilio.url,
        "TWILIO_MEDIA_HOSTS": "127.0.0.1",
    }
    return subprocess.run(
        [sys.executable, "-m", "listener.cli", "transcribe", "--pending"],
        capture_output=True, text=True, cwd=db.parent, env=env, timeout=60,
    )


def test_an_untranscribed_voice_note_is_saved_then_transcribed_by_the_backlog_command(
    start_app, fake_twilio, openai_fake, db_path
):
    openai_fake.always(Answer.error(500))  # transcription is down when the note arrives
    server = start_app(**openai_settings(openai_fake, openai_max_retries=0))
    joined, sid = "SM" + "c1" * 16, "SM" + "c2" * 16
    server.post("/message", message_form(joined, PARTICIPANT, "hi, I'm at TOWNHALL"))
    post_voice_note(server, fake_twilio, sid)
    wait_for(lambda: server.settled([joined, sid]), what="the voice note to be processed")
    note = stored(server, sid)
    assert note.transcript is None and note.media[0].content_type == "audio/ogg"
    assert fake_twilio.sent_to(PARTICIPANT)[-1] == "Thanks! I saved your voice note, but I can't transcribe it right now."

    failed = run_cli(db_path, fake_twilio, openai_fake)  # still down: reported, exit 1
    assert failed.returncode == 1, failed.stderr
    assert f"{sid}: not transcribed" in failed.stdout and "Traceback" not in failed.stderr

    openai_fake.always(None)
    openai_fake.add_transcript(VOICE_NOTE, HEARD, language="en")
    done = run_cli(db_path, fake_twilio, openai_fake)
    assert done.returncode == 0, done.stderr
    assert f"{sid}: transcribed (6 words, language en, model test-transcribe-model)" in done.stdout
    assert "transcribed 1 of 1 voice notes" in done.stdout
    assert HEARD not in done.stdout  # the participant's words stay out of the output
    note = stored(server, sid)
    assert (note.transcript, note.transcription_model, note.transcript_language) == (
        HEARD, "test-transcribe-model", "en")

    again = run_cli(db_path, fake_twilio, openai_fake)
    assert again.returncode == 0 and "no voice notes are waiting" in again.stdout
