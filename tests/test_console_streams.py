"""The console's downloads are `listener.operators.export` streamed: the same bytes as the CLI's
export, sent in chunks while the store is still being read, and a client that goes
away stops the export."""

from __future__ import annotations

import io
import threading

import pytest
from harness import Conversation, fixture_events, make_engine
from webhook_support import wait_for

from listener.console.streams import CHUNK_CHARS, export_body
from listener.operators.export import FORMATS, ExportRequest, export
from listener.store.sqlite import SQLiteStore

SAYINGS = 400  # about 1.2 MB of text: more than the queue between the export and the response holds
SAYING = "The buses should run every ten minutes after the evening shift ends, " * 40


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = SQLiteStore(tmp_path_factory.mktemp("streams") / "listener.db")
    for event in fixture_events().values():
        store.put_event(event)
    chat = Conversation(make_engine(store), participant="+15550200001")
    for text in ("hi, I'm at TOWNHALL", "Kim"):
        chat.send(text)
    for number in range(SAYINGS):
        chat.send(f"{number}: {SAYING}")
    yield store
    store.close()


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_download_is_the_cli_export_in_chunks(store, fmt):
    event = store.get_event("TOWNHALL")
    request = ExportRequest(event_id="TOWNHALL", format=fmt)
    expected = io.StringIO()
    export(store, request, event, expected)

    chunks = list(export_body(store, request, event))
    assert b"".join(chunks).decode("utf-8") == expected.getvalue()
    if fmt != "tttc":  # one row per participant: a single chunk
        assert len(chunks) > 1 and all(len(chunk) >= CHUNK_CHARS for chunk in chunks[:-1])


def test_a_client_that_goes_away_stops_the_export(store):
    event = store.get_event("TOWNHALL")
    before = {thread.ident for thread in threading.enumerate()}
    body = export_body(store, ExportRequest(event_id="TOWNHALL", format="jsonl"), event)
    next(body)
    exporting = [t for t in threading.enumerate() if t.ident not in before and t.name.startswith("export-")]
    assert len(exporting) == 1
    assert exporting[0].is_alive(), "the whole export was read before the first chunk was sent"
    body.close()
    wait_for(lambda: not exporting[0].is_alive(), timeout=5, what="the export thread to stop")
