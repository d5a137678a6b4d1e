"""What counts as a message's failure, seen from outside: storage trouble never does (the
message waits for the store and then goes through as any other), and a failure of the
flow itself is counted on the inbox item, so processes add to one count (a restart does
not start it again)."""

from __future__ import annotations

import sqlite3
import time

from fake_transcription import FakeTranscription, HttpTranscriber
from harness import ROOT
from reliability_support import ServerProcess, free_port, server_env
from sqlite_lock import write_lock_held
from webhook_support import (  # noqa: F401
    db_path,
    fake_twilio,
    message_form,
    signature,
    start_app,
    wait_for,
)

PARTICIPANT = "+15550108001"


def inbox_attempts(db, sid: str) -> int:
    with sqlite3.connect(db) as connection:
        row = connection.execute("SELECT attempts FROM inbox WHERE message_sid = ?", (sid,)).fetchone()
    return row[0] if row else 0


def test_a_store_locked_while_a_message_is_processed_is_waited_for_and_never_counted(start_app, fake_twilio, db_path):  # noqa: F811
    """One counted failure would set the message aside (PROCESS_MAX_ATTEMPTS=1): the store
    is locked by another process while the message waits on its voice note, so its commit
    fails for seconds; once the lock goes, the message is processed as any other."""
    transcription = FakeTranscription(text="hi, I'm at CLIMATE24", hang=True).start()
    try:
        server = start_app(transcriber=HttpTranscriber(transcription.url), process_max_attempts=1,
                           store_timeout_seconds=0.5)
        sid = "SM" + "e" * 32
        voice = message_form(sid, PARTICIPANT, "", media=[(fake_twilio.add_media(b"OggS-voice", "audio/ogg"), "audio/ogg")])
        assert server.post("/message", voice).status_code == 200
        wait_for(lambda: transcription.received, what="the worker to call the transcriber")
        with write_lock_held(db_path):
            transcription.release()
            time.sleep(3.0)  # the commit fails and is tried again, several times
            assert server.store.inbound_status(sid) == "pending"
        wait_for(lambda: server.settled([sid]), timeout=60, what="the message after the lock went")
        assert server.store.load_participant(PARTICIPANT).state == "asking_name"
        kinds = [i.kind for i in server.store.iter_interactions(participant=PARTICIPANT) if i.id == sid]
        assert kinds == ["onboarding"]
        assert inbox_attempts(db_path, sid) == 0
    finally:
        transcription.stop()


def test_failures_of_the_flow_are_counted_with_the_message_across_a_restart(tmp_path, db_path, fake_twilio):  # noqa: F811
    """A planted bug fails "boom" every time. The first process fails it twice and is
    killed; the next one sets it aside at the third failure, not after three of its own."""
    flow_file = tmp_path / "buggy.yaml"
    flow_file.write_text((ROOT / "transitions.yaml").read_text().replace("initial: new", "initial: new\nbehaviour: buggy_states", 1))
    env = server_env(db_path, fake_twilio, FLOW_FILE=str(flow_file), PROCESS_MAX_ATTEMPTS="3",
                     RECOVERY_INTERVAL_SECONDS="1", PYTHONPATH=str(ROOT / "tests"))
    port = free_port()
    client_post = _poster(port)
    server = ServerProcess(env, port, tmp_path / "server.log").start()
    boom = "SM" + "b" * 32
    try:
        client_post("SM" + "a" * 32, "TOWNHALL")
        client_post("SM" + "c" * 32, "Ada")
        client_post(boom, "boom goes the idea")
        wait_for(lambda: inbox_attempts(db_path, boom) >= 2, timeout=30, what="two failures in the first process")
        server.kill()
        assert inbox_attempts(db_path, boom) == 2
        server = ServerProcess(env, port, tmp_path / "server.log").start()
        wait_for(lambda: _status(db_path, boom) == "done", timeout=30, what="the message to be set aside")
        assert inbox_attempts(db_path, boom) == 3
    finally:
        server.stop()


def _status(db, sid: str) -> str | None:
    with sqlite3.connect(db) as connection:
        row = connection.execute("SELECT status FROM inbox WHERE message_sid = ?", (sid,)).fetchone()
    return row[0] if row else None


def _poster(port: int):
    import httpx

    def post(sid: str, body: str) -> None:
        form = message_form(sid, PARTICIPANT, body)
        response = httpx.post(f"http://127.0.0.1:{port}/message", data=form, timeout=10, trust_env=False,
                              headers={"X-Twilio-Signature": signature("/message", form)})
        assert response.status_code == 200

    return post
