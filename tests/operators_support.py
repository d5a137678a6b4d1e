"""What the operator-command tests share: the `listener` command run as a real process on
a test store (SQLite file or the Firestore emulator), and an event with people in it."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from harness import Conversation, make_engine

from listener.models import Media
from listener.store.base import Store
from listener.store.firestore import FirestoreStore
from listener.store.sqlite import SQLiteStore

ALEX = "+15550300001"
SAM = "+15550300002"
QUIET = "+15550300003"
VOICE_NOTE = Media(url="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", content_type="audio/ogg")


def store_url(store: Store) -> str:
    """The STORE_URL a `listener` process opens to reach this store's data."""
    if isinstance(store, SQLiteStore):
        return f"sqlite:///{store.path}"
    assert isinstance(store, FirestoreStore)
    return f"firestore://{store.client.project}?prefix={store.prefix}"


def listener_process(store: Store, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """`listener ARGS` on this store in its own process, as an operator runs it."""
    env = {**os.environ, "STORE_URL": store_url(store)}
    return subprocess.run(
        [sys.executable, "-m", "listener.cli", *args],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=120,
    )


def populate(store: Store) -> dict[str, Conversation]:
    """CLIMATE24 with three participants: Alex (talks, a voice note, a command, finishes),
    Sam (talks), and one who joined but has said nothing while listening."""
    engine = make_engine(store)
    chats = {number: Conversation(engine, participant=number) for number in (ALEX, SAM, QUIET)}
    alex, sam, quiet = chats[ALEX], chats[SAM], chats[QUIET]
    for text in ("hi, I'm at CLIMATE24", "Alex", "34", "woman", "Bristol"):
        alex.send(text)
    alex.send("the buses are late")
    alex.send("", transcript="we need more trees", media=[VOICE_NOTE])
    alex.send("help")
    alex.send("finish")
    for text in ("CLIMATE24", "Sam", "61", "man", "Bath", "more bike lanes please"):
        sam.send(text)
    quiet.send("CLIMATE24")
    quiet.send("Robin")
    return chats


def everything_stored(store: Store) -> list[str]:
    """Every key and value in the store as text: each SQLite row, or each Firestore
    document (with its path) of every collection at every depth."""
    if isinstance(store, SQLiteStore):
        conn = sqlite3.connect(store.path)
        try:
            tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return [repr(row) for table in tables for row in conn.execute(f"SELECT * FROM {table}")]
        finally:
            conn.close()
    assert isinstance(store, FirestoreStore)
    found: list[str] = []

    def walk(collections) -> None:
        for collection in collections:
            for reference in collection.list_documents():
                document = reference.get()
                found.append(reference.path + " " + json.dumps(document.to_dict() or {}, default=str))
                walk(reference.collections())

    walk(store.client.collections())
    return found
