"""The engine's guarantees beyond one conversation: one machine, atomic commits, conflicts."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

from harness import Conversation, make_engine, shipped_flow

from listener.conversation.flow import Flow
from listener.models import InboundMessage
from listener.store.base import VersionConflict
from listener.store.sqlite import SQLiteStore


def test_one_machine_serves_every_participant_and_keeps_none(chat, engine):
    flow = shipped_flow()
    other = Conversation(engine, participant="+15550100002", clock=chat.clock)
    chat.send("CLIMATE24")
    other.send("TOWNHALL")
    chat.send("Alex")
    assert flow.machine.models == []
    assert (chat.state, other.state) == ("asking_age", "asking_name")


def test_step_is_pure_until_commit(chat, engine, store):
    chat.send("CLIMATE24")
    before = store.load_participant(chat.participant)
    outcome = engine.step(store.load_participant(chat.participant), chat.message("Alex"))
    assert store.load_participant(chat.participant) == before
    assert outcome.snapshot.state == "asking_age"
    assert outcome.expected_version == before.version
    assert outcome.snapshot.version == before.version + 1
    assert list(store.iter_interactions(participant=chat.participant))[-1].id != outcome.message_sid


def test_a_stale_commit_is_refused_and_writes_nothing(chat, engine, store):
    chat.send("CLIMATE24")
    snapshot = store.load_participant(chat.participant)
    first = chat.message("Alex")
    second = chat.message("Sam")
    store.record_inbound(first)
    store.record_inbound(second)
    stale = engine.step(snapshot, second)
    engine.process(first)
    interactions_before = list(store.iter_interactions())
    try:
        store.commit(stale)
        raise AssertionError("a stale commit was accepted")
    except VersionConflict:
        pass
    assert list(store.iter_interactions()) == interactions_before
    assert store.inbound_status(second.message_sid) == "pending"
    assert store.get_reply(f"{second.message_sid}-r1") is None


def test_conflicting_workers_lose_no_update(tmp_path):
    """Two workers, each with its own connection, race on one participant's messages."""
    path = tmp_path / "shared.db"
    from harness import fixture_events

    seed = SQLiteStore(path)
    for event in fixture_events().values():
        seed.put_event(event)
    engines = [make_engine(SQLiteStore(path)) for _ in range(2)]
    chat = Conversation(engines[0])
    chat.send("QUIET-ROOM")
    messages = [chat.message(f"thought {n}") for n in range(40)]
    for message in messages:
        seed.record_inbound(message)

    def work(engine, share):
        for message in share:
            engine.process(message)

    threads = [threading.Thread(target=work, args=(engines[i], messages[i::2])) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    snapshot = seed.load_participant(chat.participant)
    assert snapshot.events["QUIET-ROOM"].messages == 41
    assert snapshot.version == 41
    stored = [i.id for i in seed.iter_interactions(participant=chat.participant) if i.direction == "in"]
    assert sorted(stored) == sorted([m.message_sid for m in messages] + [chat.last.message_sid])
    assert seed.pending_inbound(datetime.now(timezone.utc)) == []


def test_processing_a_done_message_again_changes_nothing(chat, engine, store):
    """A second worker picking up a message the first just finished does nothing."""
    chat.send("TOWNHALL")
    message = chat.message("Alex")
    store.record_inbound(message)
    assert engine.process(message) is not None
    snapshot = store.load_participant(chat.participant)
    stored = list(store.iter_interactions())
    assert engine.process(message) is None
    assert store.load_participant(chat.participant) == snapshot
    assert list(store.iter_interactions()) == stored


def test_a_different_graph_runs_unchanged(tmp_path, store):
    """The engine names no state: a graph with other names runs through the same code."""
    text = open(shipped_flow().graph.source, encoding="utf-8").read()
    renamed = text.replace("listening", "hearing").replace("awaiting_event_id", "waiting_for_code")
    renamed = renamed.replace("hearing.", "listening.")  # the behaviour module keeps its name
    path = tmp_path / "renamed.yaml"
    path.write_text(renamed, encoding="utf-8")
    flow = Flow.from_file(path)
    chat = Conversation(make_engine(store, flow=flow))
    chat.send("hello")
    assert chat.state == "waiting_for_code"
    chat.send("TOWNHALL")
    chat.send("Alex")
    assert chat.state == "hearing"


def test_message_model_text_prefers_the_typed_body():

    message = InboundMessage(
        message_sid="SM1", participant="+15550100001", body="  caption ", transcript="spoken",
        received_at=datetime.now(timezone.utc),
    )
    assert message.text == "caption"
    assert message.model_copy(update={"body": ""}).text == "spoken"
