"""Voice notes: fetched from the allow-listed Twilio host with credentials that never
cross a redirect, capped, timed, and transcribed before the engine runs."""

from __future__ import annotations

import asyncio

import pytest
from fake_transcription import FakeTranscription, HttpTranscriber
from webhook_support import (  # noqa: F401
    app_server,
    db_path,
    fake_twilio,
    make_settings,
    message_form,
    start_app,
    wait_for,
)

from listener.channel.media import MediaError, download_media

PARTICIPANT = "+15550007777"
SID = "SM" + "7a" * 16


@pytest.fixture
def transcription():
    fake = FakeTranscription(text="hi, I'm at CLIMATE24").start()
    yield fake
    fake.stop()


def inbound(server, sid: str = SID):
    return next(i for i in server.store.iter_interactions(participant=PARTICIPANT) if i.id == sid)


def test_a_voice_note_is_fetched_with_credentials_and_transcribed(start_app, fake_twilio, transcription):
    server = start_app(transcriber=HttpTranscriber(transcription.url))
    url = fake_twilio.add_media(b"OggS-the-audio", "audio/ogg")
    assert server.post("/message", message_form(SID, PARTICIPANT, "", media=[(url, "audio/ogg")])).status_code == 200
    wait_for(lambda: server.settled([SID]), what="the voice note processed")

    note = inbound(server)
    assert note.transcript == "hi, I'm at CLIMATE24"
    assert note.transcription_model == "fake-transcribe"
    assert [m.url for m in note.media] == [url]
    assert server.store.load_participant(PARTICIPANT).current_event_id == "CLIMATE24"
    assert transcription.received == [{"bytes": 14, "content_type": "audio/ogg", "filename": "voice-note.ogg"}]
    # Twilio's host got the account credentials; the CDN it redirected to did not.
    assert [r["path"] for r in fake_twilio.media_requests] == ["api", "cdn"]
    assert fake_twilio.media_requests[0]["authorization"].startswith("Basic ")
    assert fake_twilio.media_requests[1]["authorization"] is None


def test_without_a_transcriber_the_voice_note_is_saved_and_the_participant_told(app_server, fake_twilio):
    url = fake_twilio.add_media(b"OggS-the-audio", "audio/ogg")
    assert app_server.post("/message", message_form(SID, PARTICIPANT, "", media=[(url, "audio/ogg")])).status_code == 200
    wait_for(lambda: app_server.settled([SID]), what="the voice note processed")
    note = inbound(app_server)
    assert note.transcript is None and [m.content_type for m in note.media] == ["audio/ogg"]
    assert fake_twilio.media_requests == []  # nothing to transcribe with, so nothing fetched
    assert fake_twilio.sent_to(PARTICIPANT)


def test_media_outside_the_allow_list_is_never_fetched(start_app, fake_twilio, transcription):
    server = start_app(transcriber=HttpTranscriber(transcription.url), twilio_media_hosts="api.twilio.com")
    url = fake_twilio.add_media(b"OggS-the-audio", "audio/ogg")
    server.post("/message", message_form(SID, PARTICIPANT, "", media=[(url, "audio/ogg")]))
    wait_for(lambda: server.settled([SID]), what="the voice note processed")
    assert fake_twilio.media_requests == [] and transcription.received == []
    assert inbound(server).transcript is None


def test_a_failing_transcription_service_leaves_the_note_saved(start_app, fake_twilio):
    down = FakeTranscription(text="").start()  # answers 503
    try:
        server = start_app(transcriber=HttpTranscriber(down.url))
        url = fake_twilio.add_media(b"OggS-the-audio", "audio/ogg")
        server.post("/message", message_form(SID, PARTICIPANT, "", media=[(url, "audio/ogg")]))
        wait_for(lambda: server.settled([SID]), what="the voice note processed")
        assert len(down.received) == 1 and inbound(server).transcript is None
        assert fake_twilio.sent_to(PARTICIPANT)
    finally:
        down.stop()


def test_download_refuses_big_slow_and_foreign_media(tmp_path, fake_twilio):
    settings = make_settings(tmp_path / "unused.db", fake_twilio, media_max_bytes=10, media_timeout_seconds=0.5)
    small = fake_twilio.add_media(b"0123456789", "audio/ogg")
    assert asyncio.run(download_media(small, settings)) == (b"0123456789", "audio/ogg")

    with pytest.raises(MediaError, match="cap"):
        asyncio.run(download_media(fake_twilio.add_media(b"01234567890", "audio/ogg"), settings))
    with pytest.raises(MediaError, match="longer than"):
        asyncio.run(download_media(fake_twilio.add_media(b"x", "audio/ogg", hang=True), settings))
    with pytest.raises(MediaError, match="TWILIO_MEDIA_HOSTS"):
        asyncio.run(download_media("https://attacker.example.test/audio.ogg", settings))
    with pytest.raises(MediaError, match="TWILIO_MEDIA_HOSTS"):
        asyncio.run(download_media("file:///etc/passwd", settings))
    fake_twilio.release_media()
