"""Shared fixtures: a fresh SQLite store with the fixture events, and a conversation on it."""

from __future__ import annotations

import pytest
from harness import Conversation, fixture_events, make_engine

from listener.store.sqlite import SQLiteStore

pytest_plugins = ["firestore_fixtures"]


@pytest.fixture
def store(tmp_path):
    store = SQLiteStore(tmp_path / "listener.db")
    for event in fixture_events().values():
        store.put_event(event)
    yield store
    store.close()


@pytest.fixture
def engine(store):
    return make_engine(store)


@pytest.fixture
def chat(engine):
    return Conversation(engine)
