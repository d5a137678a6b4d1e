"""`listener participants forget` cannot be undone from outside, on either store.

A participant talks to the real app through signed webhooks; the operator forgets them
with the real command, in its own process, while the app runs; then the participant's
original signed deliveries are replayed (as an attacker, or Twilio retrying late,
would). Each replay is answered 200 and dropped: no inbox entry, no snapshot, no
message comes back. The number is left nowhere: not in any record, and on SQLite not in
the bytes of the database file or its write-ahead log. A new message from the same
number later starts a new participant.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
from operators_support import everything_stored, listener_process, store_url
from webhook_support import (  # noqa: F401
    AppServer,
    fake_twilio,
    make_settings,
    message_form,
    wait_for,
)

from listener.channel.app import create_app
from listener.store import Store, open_store
from listener.store.sqlite import SQLiteStore

NUMBER = "+15550008642"
DIGITS = NUMBER.removeprefix("+").encode()
CONVERSATION = ["hi, I'm at TOWNHALL", "Robin", "the ferry timetable is a mystery", "more benches please"]


@pytest.fixture(params=["sqlite", "firestore"])
def served(request, tmp_path, fake_twilio) -> Iterator[tuple[AppServer, Store]]:
    """The app on one store, and the test's own view of that store."""
    store = request.getfixturevalue("store" if request.param == "sqlite" else "firestore_store")
    settings = make_settings(tmp_path / "listener.db", fake_twilio, store_url=store_url(store),
                             recovery_interval_seconds=0.3)
    server = AppServer(create_app(settings), tmp_path / "listener.db")
    server.store.close()
    server.store = open_store(store_url(store))
    server.start()
    yield server, store
    server.stop()


FIND_BYTES = """
import pathlib, sys
files = [pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[1] + "-wal")]
print(any(sys.argv[2].encode() in path.read_bytes() for path in files if path.exists()))
"""


def on_disk(store: SQLiteStore, text: bytes) -> bool:
    """Whether the database file or its write-ahead log holds these bytes. Read by another
    process: closing a file descriptor of the database in this one would drop the POSIX
    locks this process's SQLite connections hold on it."""
    found = subprocess.run(
        [sys.executable, "-c", FIND_BYTES, store.path, text.decode()], capture_output=True, text=True, check=True
    )
    return found.stdout.strip() == "True"


def test_a_forgotten_participants_replayed_deliveries_are_dropped(served, tmp_path):
    server, store = served
    forms = [message_form(f"SM{n:032d}", NUMBER, body) for n, body in enumerate(CONVERSATION, start=8640)]
    for form in forms:
        assert server.post("/message", form).status_code == 200
        wait_for(lambda sid=form["MessageSid"]: server.settled([sid]), timeout=30, what="the conversation")
    assert store.load_participant(NUMBER).current_event_id == "TOWNHALL"
    if isinstance(store, SQLiteStore):
        assert on_disk(store, DIGITS), "the test must see the number before it is forgotten"

    result = listener_process(store, "participants", "forget", NUMBER, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "inbox entries: 4" in result.stdout

    for form in forms:
        assert server.post("/message", form).status_code == 200
    time.sleep(1.0)  # three recovery sweeps: anything recorded would be processed by now
    for form in forms:
        assert store.inbound_status(form["MessageSid"]) is None
    assert store.load_participant(NUMBER) is None
    assert list(store.iter_interactions(participant=NUMBER)) == []
    assert store.pending_inbound(datetime.now(timezone.utc)) == []
    assert [text for text in everything_stored(store) if DIGITS.decode() in text] == []
    if isinstance(store, SQLiteStore):
        assert not on_disk(store, DIGITS), "the number is still readable in the database or its WAL"

    later = message_form("SM" + "9" * 32, NUMBER, "hello again")
    assert server.post("/message", later).status_code == 200
    wait_for(lambda: server.settled([later["MessageSid"]]), timeout=30, what="the new message")
    fresh = store.load_participant(NUMBER)
    assert (fresh.version, fresh.current_event_id, fresh.events) == (1, None, {})
