"""Shared fixtures: a fresh SQLite store with the fixture events, and a conversation on it."""

from __future__ import annotations

import os

import harness
import pytest
from harness import Conversation, fixture_events, make_engine
from hypothesis import settings

from listener.store.sqlite import SQLiteStore

pytest_plugins = ["firestore_fixtures"]

settings.register_profile("mutation", max_examples=12, derandomize=True, database=None)
"""The property machine in a mutation run (`--hypothesis-profile=mutation`): a few examples,
the same ones every run, so a mutant's verdict does not depend on luck."""


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


FRESH_FLOW = os.environ.get("LISTENER_FRESH_FLOW") == "1"
"""Set by mutation/run.py: every test builds the shipped flow anew, so that a mutant in the
graph loader or the flow runs in each test that uses the flow (and mutmut counts each as
covering it) instead of hiding behind a flow built once, before the mutant was switched on."""


@pytest.fixture(autouse=True)
def _fresh_flow_for_mutation():
    if FRESH_FLOW:
        harness._FLOW = None
