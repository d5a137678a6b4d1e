"""The `Store` contract: every store passes the same tests (SQLite always, Firestore on the
emulator). The tests talk to the store only through the protocol, except where a test is
about one store's own data (the original tools' Firestore documents, its credentials).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone

import pytest
from concurrency_support import answers_at_once
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from harness import ROOT, Conversation, make_engine
from operators_support import everything_stored
from sqlite_lock import write_lock_held

from listener.config import Settings
from listener.models import (
    EventConfig,
    InboundMessage,
    Interaction,
    Membership,
    OutboundReply,
    Outcome,
    ParticipantSnapshot,
    Queue,
    Turn,
)
from listener.operators.privacy import BlockedNumber
from listener.store import (
    Conversations,
    Events,
    Inbox,
    Outbox,
    Privacy,
    Records,
    Store,
    StoreError,
    StoreUnavailable,
    VersionConflict,
    open_store,
)
from listener.store.documents import inbox_key, profile_document
from listener.store.firestore import FirestoreStore, firestore_client
from listener.store.sqlite import SQLiteStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
LATER = T0 + timedelta(days=365)
"""A cutoff after every message the tests record."""
ALEX = "+15550100001"
SAM = "+15550100002"
PAT = "+15550100003"
EVENT = "CLIMATE24"
OTHER_EVENT = "TOWNHALL"


def now() -> datetime:
    return datetime.now(timezone.utc)


# building outcomes the way the engine does -------------------------------------------------


def inbound(sid: str, participant: str = ALEX, at: datetime = T0, body: str = "hello") -> InboundMessage:
    return InboundMessage(message_sid=sid, participant=participant, body=body, received_at=at)


def said(message: InboundMessage, event_id: str | None, text: str | None = None) -> Interaction:
    return Interaction(
        id=message.message_sid,
        participant=message.participant,
        event_id=event_id,
        direction="in",
        kind="contribution",
        text=message.body if text is None else text,
        state="state-a",
        at=message.received_at,
    )


def reply_to(message: InboundMessage) -> OutboundReply:
    return OutboundReply(
        id=f"{message.message_sid}-r1",
        participant=message.participant,
        text="Thank you.",
        in_reply_to=message.message_sid,
        created_at=message.received_at,
    )


def outcome_for(
    previous: ParticipantSnapshot | None,
    message: InboundMessage,
    event_id: str | None = EVENT,
    interactions: list[Interaction] | None = None,
    with_reply: bool = True,
) -> Outcome:
    """What one message changes: the next snapshot version, its records, its reply."""
    snapshot = (
        previous.model_copy(deep=True)
        if previous
        else ParticipantSnapshot(participant=message.participant, state="state-a")
    )
    expected = snapshot.version
    snapshot.version = expected + 1
    touched = []
    if event_id is not None:
        membership = snapshot.events.setdefault(
            event_id, Membership(joined_at=message.received_at, last_active_at=message.received_at)
        )
        membership.messages += 1
        membership.last_active_at = message.received_at
        snapshot.current_event_id = event_id
        touched = [event_id]
    return Outcome(
        message_sid=message.message_sid,
        snapshot=snapshot,
        expected_version=expected,
        interactions=[said(message, event_id)] if interactions is None else interactions,
        replies=[reply_to(message)] if with_reply else [],
        touched_events=touched,
    )


def deliver(store: Store, message: InboundMessage, event_id: str | None = EVENT) -> Outcome:
    """Record, read, commit: one message as the engine handles it."""
    store.record_inbound(message)
    outcome = outcome_for(store.load_participant(message.participant), message, event_id)
    store.commit(outcome)
    return outcome


def store_url(store: Store) -> str:
    """The STORE_URL another process opens to reach the same data."""
    if isinstance(store, SQLiteStore):
        return f"sqlite:///{store.path}"
    assert isinstance(store, FirestoreStore)
    return f"firestore://{store.client.project}?prefix={store.prefix}"


# inbox ------------------------------------------------------------------------------------


def test_inbox_records_a_delivery_once_and_lists_pending_oldest_first(any_store):
    later = inbound("SM-later", at=T0 + timedelta(minutes=5))
    earlier = inbound("SM-earlier", participant=SAM, at=T0)
    assert any_store.record_inbound(later) is True
    assert any_store.record_inbound(earlier) is True
    assert any_store.record_inbound(later.model_copy(update={"body": "changed"})) is False
    assert any_store.inbound_status("SM-later") == "pending"
    assert any_store.inbound_status("SM-unknown") is None
    assert any_store.pending_inbound(LATER) == [earlier, later]
    assert any_store.pending_inbound(LATER, limit=1) == [earlier]


def test_recovery_reads_only_the_pending_items_received_before_its_cutoff(any_store):
    """Times on a whole second and within it: their stored text must sort as time does."""
    on_the_second = inbound("SM-a", at=T0)
    half_past = inbound("SM-b", participant=SAM, at=T0 + timedelta(seconds=0.5))
    next_second = inbound("SM-c", at=T0 + timedelta(seconds=1))
    later = inbound("SM-d", participant=SAM, at=T0 + timedelta(minutes=5))
    for message in (later, next_second, half_past, on_the_second):
        any_store.record_inbound(message)
    any_store.commit(outcome_for(None, next_second))
    assert any_store.pending_inbound(T0) == []
    assert any_store.pending_inbound(T0 + timedelta(seconds=0.75)) == [on_the_second, half_past]
    assert any_store.pending_inbound(T0 + timedelta(minutes=1)) == [on_the_second, half_past]
    assert any_store.pending_inbound(LATER) == [on_the_second, half_past, later]


def test_one_delivery_recorded_concurrently_is_recorded_once(any_store):
    message = inbound("SM-burst")
    start = threading.Barrier(6)
    results: list[bool] = []

    def record() -> None:
        start.wait()
        results.append(any_store.record_inbound(message))

    threads = [threading.Thread(target=record) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 5 + [True]
    assert any_store.pending_inbound(LATER) == [message]


def test_a_batch_records_each_new_delivery_once_and_says_which(any_store):
    """The webhook's group commit: deliveries already recorded, repeated within the batch or
    of a forgotten participant are left out, and every other one is recorded and waits."""
    known = inbound("SM-known", at=T0)
    any_store.record_inbound(known)
    forgotten = inbound("SM-forgotten", participant=PAT, at=T0)
    any_store.record_inbound(forgotten)
    any_store.forget_participant(PAT)
    first, second = inbound("SM-one", at=T0 + timedelta(seconds=1)), inbound("SM-two", at=T0 + timedelta(seconds=2))
    sams = inbound("SM-sam", participant=SAM, at=T0 + timedelta(seconds=1))
    batch = [first, known.model_copy(update={"body": "changed"}), sams, forgotten, second, sams]
    assert any_store.record_inbound_many(batch) == [True, False, True, False, True, False]
    assert any_store.pending_inbound(LATER) == [known, first, sams, second]
    assert waiting_sids(any_store) == ["SM-known", "SM-one", "SM-two"]
    assert waiting_sids(any_store, SAM) == ["SM-sam"]
    assert waiting_sids(any_store, PAT) == []
    assert any_store.record_inbound_many([]) == []


def test_batches_recorded_at_once_by_two_processes_record_each_delivery_once(any_store):
    """Overlapping batches from two processes: each MessageSid is recorded by exactly one."""
    other = open_store(store_url(any_store))
    messages = [inbound(f"SM-overlap-{n}", participant=f"+1555010{n:04d}") for n in range(30)]
    batches = [(any_store, messages[:20]), (other, messages[10:]), (any_store, messages[5:25])]
    try:
        answers = answers_at_once(lambda n: batches[n][0].record_inbound_many(batches[n][1]), range(len(batches)))
    finally:
        other.close()
    results: dict[str, list[bool]] = {message.message_sid: [] for message in messages}
    for n, (_, batch) in enumerate(batches):
        for message, recorded in zip(batch, answers[n], strict=True):
            results[message.message_sid].append(recorded)
    assert {sid: recorded.count(True) for sid, recorded in results.items()} == dict.fromkeys(results, 1)
    assert sorted(message.message_sid for message in any_store.pending_inbound(LATER)) == sorted(results)


def test_commits_made_at_once_from_many_threads_conflict_only_where_stale(any_store):
    """Processing's threads commit at once (on Firestore, in shared requests): the one
    commit whose snapshot another process changed conflicts, every other one lands."""
    people = [f"+1555011{n:04d}" for n in range(24)]
    firsts = {person: deliver(any_store, inbound(f"SM-first-{person}", participant=person)) for person in people}
    assert all(any_store.load_participant(person).version == 1 for person in firsts)
    stale = people[len(people) // 2]
    outcomes = {
        person: outcome_for(any_store.load_queue(person)[0], inbound(f"SM-second-{person}", participant=person))
        for person in people
    }
    other = open_store(store_url(any_store))
    try:
        deliver(other, inbound("SM-elsewhere", participant=stale, at=T0 + timedelta(minutes=1)))
    finally:
        other.close()
    answers = answers_at_once(lambda person: any_store.commit(outcomes[person]), people)
    assert isinstance(answers.pop(stale), VersionConflict)
    assert answers == dict.fromkeys(answers, [])
    assert {person: any_store.load_participant(person).version for person in people} == dict.fromkeys(people, 2)
    assert any_store.get_reply("SM-elsewhere-r1") is not None
    assert any_store.get_reply(f"SM-second-{stale}-r1") is None
    assert all(any_store.get_reply(f"SM-second-{person}-r1") is not None for person in answers)


def test_a_failed_attempt_is_counted_on_the_inbox_item_for_every_process(any_store):
    message = inbound("SM-fails")
    any_store.record_inbound(message)
    assert any_store.record_failed_attempt("SM-fails", "RuntimeError: boom") == 1
    other = open_store(store_url(any_store))  # another process's view of the same item
    try:
        assert other.record_failed_attempt("SM-fails", "RuntimeError: boom again") == 2
    finally:
        other.close()
    assert any_store.record_failed_attempt("SM-fails", "x" * 100_000) == 3
    assert any_store.inbound_status("SM-fails") == "pending"
    assert any_store.pending_inbound(LATER) == [message]
    any_store.commit(outcome_for(None, message))
    assert any_store.record_failed_attempt("SM-fails", "too late: it is done") == 0
    assert any_store.record_failed_attempt("SM-never-recorded", "nothing") == 0


def test_failed_attempts_counted_at_once_are_all_counted(any_store):
    any_store.record_inbound(inbound("SM-contended"))
    start = threading.Barrier(3)
    counts: list[int] = []

    def fail_twice() -> None:
        start.wait()
        for _ in range(2):
            counts.append(any_store.record_failed_attempt("SM-contended", "flaky"))

    threads = [threading.Thread(target=fail_twice) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(counts) == [1, 2, 3, 4, 5, 6]


# the atomic commit ------------------------------------------------------------------------


def test_a_commit_writes_snapshot_profile_interactions_outbox_and_marks_the_inbox(any_store):
    message = inbound("SM-1")
    outcome = deliver(any_store, message)
    snapshot = any_store.load_participant(ALEX)
    assert snapshot == outcome.snapshot
    assert snapshot.version == 1
    membership = snapshot.events[EVENT]
    assert any_store.get_profile(EVENT, ALEX) == profile_document(EVENT, ALEX, membership)
    assert any_store.get_profile(EVENT.lower(), ALEX) == profile_document(EVENT, ALEX, membership)
    assert any_store.get_profile(OTHER_EVENT, ALEX) is None
    assert list(any_store.iter_interactions(EVENT)) == outcome.interactions
    assert any_store.get_reply("SM-1-r1") == reply_to(message)
    assert any_store.pending_replies(now()) == [reply_to(message)]
    assert any_store.inbound_status("SM-1") == "done"
    assert any_store.pending_inbound(LATER) == []


def test_a_commit_updates_the_snapshot_and_profile_in_place(any_store):
    deliver(any_store, inbound("SM-1"))
    second = deliver(any_store, inbound("SM-2", at=T0 + timedelta(minutes=1)))
    snapshot = any_store.load_participant(ALEX)
    assert snapshot.version == 2
    assert snapshot.events[EVENT].messages == 2
    assert any_store.get_profile(EVENT, ALEX)["messages"] == 2
    assert any_store.get_profile(EVENT, ALEX)["last_active_at"] == second.snapshot.events[EVENT].last_active_at.isoformat()
    assert [i.id for i in any_store.iter_interactions(participant=ALEX)] == ["SM-1", "SM-2"]


def test_a_commit_replaces_values_the_snapshot_no_longer_holds(any_store):
    message = inbound("SM-1")
    parked = outcome_for(None, message)
    parked.snapshot.pending = {"parked": {"sid": "SM-0", "text": "later"}, "event_change": "TOWNHALL"}
    any_store.record_inbound(message)
    any_store.commit(parked)
    cleared = outcome_for(any_store.load_participant(ALEX), inbound("SM-2", at=T0 + timedelta(minutes=1)))
    cleared.snapshot.pending = {"parked": {"sid": "SM-0"}}
    any_store.commit(cleared)
    assert any_store.load_participant(ALEX).pending == {"parked": {"sid": "SM-0"}}


def test_a_stale_commit_writes_nothing_at_all(any_store):
    deliver(any_store, inbound("SM-1"))
    stale_base = any_store.load_participant(ALEX)
    deliver(any_store, inbound("SM-2", at=T0 + timedelta(minutes=1)))
    before = (any_store.load_participant(ALEX), any_store.get_profile(EVENT, ALEX))
    late = inbound("SM-3", at=T0 + timedelta(minutes=2))
    any_store.record_inbound(late)
    with pytest.raises(VersionConflict):
        any_store.commit(outcome_for(stale_base, late))
    assert (any_store.load_participant(ALEX), any_store.get_profile(EVENT, ALEX)) == before
    assert "SM-3" not in [i.id for i in any_store.iter_interactions()]
    assert any_store.get_reply("SM-3-r1") is None
    assert any_store.inbound_status("SM-3") == "pending"


def test_creating_a_snapshot_that_exists_conflicts_and_writes_nothing(any_store):
    deliver(any_store, inbound("SM-1"))
    rival = inbound("SM-rival", at=T0 + timedelta(seconds=1))
    any_store.record_inbound(rival)
    with pytest.raises(VersionConflict):
        any_store.commit(outcome_for(None, rival, event_id=OTHER_EVENT))
    assert any_store.load_participant(ALEX).version == 1
    assert any_store.get_profile(OTHER_EVENT, ALEX) is None
    assert any_store.get_reply("SM-rival-r1") is None
    assert any_store.inbound_status("SM-rival") == "pending"


def test_of_two_workers_committing_from_one_read_exactly_one_wins(any_store):
    """Two threads, each with its own store connection (as two workers have), race."""
    deliver(any_store, inbound("SM-1"))
    messages = [inbound(f"SM-race-{n}", at=T0 + timedelta(minutes=n + 1)) for n in range(2)]
    read = threading.Barrier(2)
    results: dict[str, str] = {}

    def work(message: InboundMessage) -> None:
        worker = open_store(store_url(any_store))
        worker.record_inbound(message)
        outcome = outcome_for(worker.load_participant(ALEX), message)
        read.wait()
        try:
            worker.commit(outcome)
            results[message.message_sid] = "committed"
        except VersionConflict:
            results[message.message_sid] = "conflict"
        finally:
            worker.close()

    threads = [threading.Thread(target=work, args=(message,)) for message in messages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results.values()) == ["committed", "conflict"]
    loser = next(message for message in messages if results[message.message_sid] == "conflict")
    assert any_store.inbound_status(loser.message_sid) == "pending"
    assert any_store.get_reply(f"{loser.message_sid}-r1") is None
    # the loser runs again from a fresh read, and both updates are kept
    any_store.commit(outcome_for(any_store.load_participant(ALEX), loser))
    snapshot = any_store.load_participant(ALEX)
    assert (snapshot.version, snapshot.events[EVENT].messages) == (3, 3)


def test_a_store_that_did_not_read_the_snapshot_still_checks_its_version(any_store):
    deliver(any_store, inbound("SM-1"))
    deliver(any_store, inbound("SM-2", at=T0 + timedelta(minutes=1)))
    stale = outcome_for(any_store.load_participant(ALEX), inbound("SM-3"))
    stale.expected_version, stale.snapshot.version = 1, 2
    fresh = outcome_for(any_store.load_participant(ALEX), inbound("SM-4"))
    other = open_store(store_url(any_store))
    try:
        with pytest.raises(VersionConflict):
            other.commit(stale)
        other.commit(fresh)
    finally:
        other.close()
    assert any_store.load_participant(ALEX) == fresh.snapshot


def _process_share(url: str, messages: list[str], ready: multiprocessing.synchronize.Barrier) -> None:
    """A second worker process: its own store connection and engine, the same participant."""
    store = open_store(url)
    engine = make_engine(store)
    ready.wait(timeout=120)
    for message in messages:
        engine.process(InboundMessage.model_validate_json(message))
    store.close()


def test_two_processes_on_one_participant_lose_no_update(any_store):
    chat = Conversation(make_engine(any_store))
    chat.send("QUIET-ROOM")
    joined = chat.snapshot
    messages = [chat.message(f"thought {n}") for n in range(12)]
    for message in messages:
        any_store.record_inbound(message)
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(2)
    shares = [[m.model_dump_json() for m in messages[i::2]] for i in range(2)]
    workers = [
        context.Process(target=_process_share, args=(store_url(any_store), share, ready)) for share in shares
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=180)
    for worker in workers:
        if worker.is_alive():  # hung: fail, without leaving it running past the session
            worker.terminate()
            worker.join()
    assert [worker.exitcode for worker in workers] == [0, 0]
    snapshot = any_store.load_participant(chat.participant)
    assert snapshot.version == joined.version + 12
    assert snapshot.events["QUIET-ROOM"].messages == joined.events["QUIET-ROOM"].messages + 12
    stored = {i.id for i in any_store.iter_interactions("QUIET-ROOM", participant=chat.participant)}
    assert {m.message_sid for m in messages} <= stored
    assert any_store.pending_inbound(LATER) == []


# interactions -----------------------------------------------------------------------------


# the participant's queue: several processes, one order ------------------------------------

def waiting_sids(store: Store, participant: str = ALEX) -> list[str]:
    return [item.message_sid for item in store.load_queue(participant)[1].waiting]


def test_a_recorded_message_waits_in_its_participants_queue_until_its_commit(any_store):
    first, second = inbound("SM-1", at=T0 + timedelta(seconds=1)), inbound("SM-2", at=T0)
    second.recorded_by = "process-b"
    any_store.record_inbound(first)
    any_store.record_inbound(second)
    any_store.record_inbound(inbound("SM-sam", participant=SAM))
    snapshot, queue = any_store.load_queue(ALEX)
    assert snapshot is None, "a participant whose first message waits has no conversation yet"
    assert [(item.message_sid, item.recorded_by) for item in queue.waiting] == [("SM-2", "process-b"), ("SM-1", None)]
    assert queue.turn is None
    assert [s.participant for s in any_store.iter_participants()] == []
    assert any_store.pending_message("SM-2") == second
    still = any_store.commit(outcome_for(None, second))
    assert [item.message_sid for item in still] == ["SM-1"]
    assert waiting_sids(any_store) == ["SM-1"] and any_store.pending_message("SM-2") is None
    assert [s.participant for s in any_store.iter_participants()] == [ALEX]


def test_the_turn_is_kept_while_messages_wait_and_given_up_when_none_do(any_store):
    first, second = inbound("SM-1"), inbound("SM-2", at=T0 + timedelta(seconds=1))
    any_store.record_inbound(first)
    any_store.record_inbound(second)
    turn = Turn(owner="process-a", until=now() + timedelta(seconds=15))
    snapshot, _ = any_store.load_queue(ALEX)
    outcome = outcome_for(snapshot, first)
    outcome.turn = turn
    assert [item.message_sid for item in any_store.commit(outcome)] == ["SM-2"]
    snapshot, queue = any_store.load_queue(ALEX)
    assert queue.turn == turn
    outcome = outcome_for(snapshot, second)
    outcome.turn = turn
    assert any_store.commit(outcome) == []
    assert any_store.load_queue(ALEX)[1] == Queue()


def test_a_commit_never_misses_a_message_recorded_after_its_read(any_store):
    """Another process records the participant's next message between this one's read and
    its commit: the commit either fails (the read is stale) or says the message waits."""
    first, second = inbound("SM-1"), inbound("SM-2", at=T0 + timedelta(seconds=1))
    any_store.record_inbound(first)
    snapshot, _ = any_store.load_queue(ALEX)
    any_store.record_inbound(second)
    try:
        still = any_store.commit(outcome_for(snapshot, first))
    except VersionConflict:
        snapshot, queue = any_store.load_queue(ALEX)
        assert [item.message_sid for item in queue.waiting] == ["SM-1", "SM-2"]
        still = any_store.commit(outcome_for(snapshot, first))
    assert [item.message_sid for item in still] == ["SM-2"]


def test_forgetting_a_participant_empties_their_queue(any_store):
    any_store.record_inbound(inbound("SM-1"))
    any_store.forget_participant(ALEX)
    assert any_store.load_queue(ALEX) == (None, Queue())


def ids(stream) -> list[str]:
    return [interaction.id for interaction in stream]


def test_interactions_stream_in_commit_order_with_filters(any_store):
    # received times deliberately out of commit order: the stream follows commits
    first = deliver(any_store, inbound("SM-a", at=T0 + timedelta(minutes=10)), event_id=None)
    deliver(any_store, inbound("SM-b", participant=SAM, at=T0 + timedelta(minutes=1)))
    deliver(any_store, inbound("SM-c", at=T0 + timedelta(minutes=5)))
    deliver(any_store, inbound("SM-d", at=T0 + timedelta(minutes=20)), event_id=OTHER_EVENT)
    deliver(any_store, inbound("SM-e", participant=SAM, at=T0 + timedelta(minutes=2)))
    assert ids(any_store.iter_interactions()) == ["SM-a", "SM-b", "SM-c", "SM-d", "SM-e"]
    assert ids(any_store.iter_interactions(EVENT)) == ["SM-b", "SM-c", "SM-e"]
    assert ids(any_store.iter_interactions("climate24")) == ["SM-b", "SM-c", "SM-e"]
    assert ids(any_store.iter_interactions(participant=ALEX)) == ["SM-a", "SM-c", "SM-d"]
    assert ids(any_store.iter_interactions(EVENT, participant=SAM)) == ["SM-b", "SM-e"]
    window = dict(since=T0 + timedelta(minutes=2), until=T0 + timedelta(minutes=20))
    assert ids(any_store.iter_interactions(**window)) == ["SM-a", "SM-c", "SM-e"]
    assert list(any_store.iter_interactions(participant=ALEX))[0] == first.interactions[0]


def test_interactions_of_one_commit_keep_their_order(any_store):
    message = inbound("SM-1")
    outs = [
        Interaction(id=f"SM-1-r{n}", participant=ALEX, event_id=EVENT, direction="out", kind="reply",
                    text=f"reply {n}", state="state-a", at=T0)
        for n in range(1, 13)
    ]
    records = [said(message, EVENT), *outs]
    any_store.record_inbound(message)
    any_store.commit(outcome_for(None, message, interactions=records))
    assert list(any_store.iter_interactions(EVENT)) == records


def test_a_transcript_is_filled_in_later(any_store):
    deliver(any_store, inbound("SM-voice", body=""))
    assert any_store.save_transcript("SM-voice", "the buses are late", "whisper-1", "en") is True
    assert any_store.save_transcript("SM-nothing", "text", None, None) is False
    stored = next(iter(any_store.iter_interactions(EVENT)))
    assert (stored.transcript, stored.transcription_model, stored.transcript_language) == (
        "the buses are late", "whisper-1", "en",
    )


def seed_interactions(store: Store, count: int, per_commit: int = 400) -> None:
    """`count` listening messages of one participant, many per commit (Firestore: 500 writes)."""
    snapshot = None
    for start in range(0, count, per_commit):
        records = [
            said(inbound(f"SM{n:08d}", at=T0 + timedelta(seconds=n)), EVENT, text=f"thought number {n}")
            for n in range(start, min(start + per_commit, count))
        ]
        outcome = outcome_for(snapshot, inbound(f"SM-batch-{start}"), interactions=records, with_reply=False)
        store.commit(outcome)
        snapshot = outcome.snapshot


def test_ten_thousand_interactions_export_as_a_stream(any_store):
    seed_interactions(any_store, 10_000)
    started = time.monotonic()
    tracemalloc.start()
    try:
        count, expected_id = 0, None
        for count, interaction in enumerate(any_store.iter_interactions(EVENT), start=1):
            expected_id = f"SM{count - 1:08d}"
            assert interaction.id == expected_id
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.monotonic() - started
    assert count == 10_000
    # Holding all 10,000 at once peaks at 14 MB (SQLite) to 19 MB (Firestore); a stream
    # holds one page: 1.4 MB and 3.2 MB when measured.
    assert peak < 6 * 1024 * 1024, f"exporting held {peak / 1e6:.1f} MB"
    assert elapsed < 60, f"exporting took {elapsed:.1f} s"


# outbox -----------------------------------------------------------------------------------


def test_replies_move_through_their_statuses(any_store):
    message = inbound("SM-1")
    deliver(any_store, message)
    any_store.update_reply("SM-1-r1", "sent", provider_sid="SMprovider1")
    reply = any_store.get_reply("SM-1-r1")
    assert (reply.status, reply.provider_sid, reply.attempts) == ("sent", "SMprovider1", 1)
    assert any_store.pending_replies(now()) == []
    assert any_store.update_reply_by_provider_sid("SMprovider1", "failed", error="63016") is True
    assert any_store.update_reply_by_provider_sid("SMunknown", "delivered") is False
    reply = any_store.get_reply("SM-1-r1")
    assert (reply.status, reply.error, reply.attempts) == ("failed", "63016", 1)
    any_store.update_reply("SM-missing", "sent")
    assert any_store.get_reply("SM-missing") is None


def test_a_composed_text_replaces_the_template_on_the_reply_and_its_record_in_the_same_write(any_store):
    message = inbound("SM-1")
    reply = reply_to(message).model_copy(update={"event_id": EVENT})
    record = Interaction(id=reply.id, participant=ALEX, event_id=EVENT, direction="out", kind="reply",
                         text=reply.text, state="state-a", at=message.received_at)
    outcome = outcome_for(None, message, interactions=[said(message, EVENT), record])
    outcome.replies = [reply]
    any_store.commit(outcome)
    composed = reply.model_copy(update={"text": "Gracias, lo hemos anotado."})
    any_store.update_reply(reply.id, "sent", provider_sid="SMp", composed=composed)
    assert any_store.get_reply(reply.id).text == "Gracias, lo hemos anotado."
    texts = {i.id: i.text for i in any_store.iter_interactions(event_id=EVENT)}
    assert texts == {"SM-1": "hello", reply.id: "Gracias, lo hemos anotado."}


def test_a_long_reply_keeps_how_far_it_got(any_store):
    deliver(any_store, inbound("SM-1"))
    assert any_store.claim_reply("SM-1-r1", 60, "sender-a") is not None
    any_store.record_reply_part("SM-1-r1", 2, "SMpart2")
    reply = any_store.get_reply("SM-1-r1")
    assert (reply.parts_sent, reply.provider_sid, reply.status, reply.claimed_by) == (2, "SMpart2", "sending", "sender-a")
    any_store.record_reply_part("SM-missing", 1, "SMx")
    assert any_store.get_reply("SM-missing") is None


def test_a_late_status_callback_never_moves_a_reply_back(any_store):
    deliver(any_store, inbound("SM-1"))
    any_store.update_reply("SM-1-r1", "sent", provider_sid="SMprovider1")
    any_store.update_reply_by_provider_sid("SMprovider1", "read")
    assert any_store.update_reply_by_provider_sid("SMprovider1", "delivered") is True
    assert any_store.get_reply("SM-1-r1").status == "read"


def test_a_participants_replies_since_a_time_are_read_with_one_query(any_store):
    first = deliver(any_store, inbound("SM-1", at=T0))
    deliver(any_store, inbound("SM-2", at=T0 + timedelta(seconds=0.5)))
    deliver(any_store, inbound("SM-3", at=T0 + timedelta(hours=2)))
    deliver(any_store, inbound("SM-sam", participant=SAM, at=T0 + timedelta(hours=2)))
    any_store.update_reply("SM-1-r1", "sent", provider_sid="SMp1")
    assert [r.id for r in any_store.replies_for(ALEX, T0)] == ["SM-1-r1", "SM-2-r1", "SM-3-r1"]
    assert [r.id for r in any_store.replies_for(ALEX, T0 + timedelta(seconds=0.25))] == ["SM-2-r1", "SM-3-r1"]
    assert any_store.replies_for(ALEX, T0 + timedelta(days=1)) == []
    assert any_store.replies_for(ALEX, T0)[0].provider_sid == "SMp1"
    assert first.replies[0].id == "SM-1-r1"


def test_a_receipt_for_a_long_replys_first_part_leaves_it_in_its_senders_hands(any_store):
    deliver(any_store, inbound("SM-1"))
    assert any_store.claim_reply("SM-1-r1", 60, "sender-a") is not None
    any_store.record_reply_part("SM-1-r1", 1, "SMpart1")
    assert any_store.update_reply_by_provider_sid("SMpart1", "delivered") is True
    reply = any_store.get_reply("SM-1-r1")
    assert (reply.status, reply.claimed_by) == ("sending", "sender-a")
    any_store.update_reply("SM-1-r1", "sent", provider_sid="SMpart2")
    assert any_store.update_reply_by_provider_sid("SMpart2", "delivered") is True
    assert any_store.get_reply("SM-1-r1").status == "delivered"


def test_a_reply_is_claimed_by_one_sender_only(any_store):
    deliver(any_store, inbound("SM-1"))
    claimed = any_store.claim_reply("SM-1-r1", 60, "sender-a")
    assert claimed is not None and (claimed.status, claimed.claimed_by) == ("sending", "sender-a")
    assert any_store.claim_reply("SM-1-r1", 60, "sender-b") is None
    assert any_store.claim_reply("SM-1-r1", 60, "sender-a") is not None, "the holder renews its claim"
    assert any_store.pending_replies(now()) == []
    any_store.update_reply("SM-1-r1", "sent", provider_sid="SMp")
    assert any_store.claim_reply("SM-1-r1", 60, "sender-a") is None
    assert any_store.get_reply("SM-1-r1").claimed_until is None
    assert any_store.claim_reply("SM-missing", 60, "sender-a") is None


def test_of_two_senders_racing_for_a_reply_exactly_one_claims_it(any_store):
    deliver(any_store, inbound("SM-1"))
    barrier = threading.Barrier(4)
    won = []

    def race(claimant):
        barrier.wait()
        won.append(any_store.claim_reply("SM-1-r1", 60, claimant))

    threads = [threading.Thread(target=race, args=(f"sender-{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len([claim for claim in won if claim is not None]) == 1


def test_a_claim_whose_sender_died_expires_and_the_reply_is_pending_again(any_store):
    deliver(any_store, inbound("SM-1"))
    assert any_store.claim_reply("SM-1-r1", 0.05, "sender-a") is not None
    time.sleep(0.1)
    assert [reply.id for reply in any_store.pending_replies(now())] == ["SM-1-r1"]
    assert any_store.claim_reply("SM-1-r1", 60, "sender-b") is not None
    any_store.update_reply("SM-1-r1", "pending", error="503: unavailable")
    assert [reply.id for reply in any_store.pending_replies(now())] == ["SM-1-r1"]


def test_recovery_reads_only_the_replies_no_sender_holds(any_store):
    """Pending replies, and claims that ended before `now` (on the second and within it)."""
    message = inbound("SM-1")
    free, lapsed, held, sent = (
        reply_to(message).model_copy(update={"id": f"SM-1-r{n}"}) for n in range(1, 5)
    )
    lapsed = lapsed.model_copy(update={"status": "sending", "claimed_by": "dead", "claimed_until": T0})
    held = held.model_copy(update={"status": "sending", "claimed_by": "alive", "claimed_until": T0 + timedelta(hours=1)})
    outcome = outcome_for(None, message)
    outcome.replies = [free, lapsed, held, sent]
    any_store.record_inbound(message)
    any_store.commit(outcome)
    any_store.update_reply(sent.id, "sent", provider_sid="SMsent")
    assert any_store.pending_replies(T0 - timedelta(seconds=1)) == [free]
    assert any_store.pending_replies(T0 + timedelta(seconds=0.5)) == [free, lapsed]
    assert any_store.pending_replies(T0 + timedelta(hours=2)) == [free, lapsed, held]
    assert any_store.pending_replies(T0 + timedelta(hours=2), limit=2) == [free, lapsed]


# events -----------------------------------------------------------------------------------


def test_events_are_found_without_regard_to_case(any_store):
    assert [event.event_id for event in any_store.list_events()] == [
        "CLIMATE24", "FORO-BOGOTA", "MTL-FORUM", "NBO-BARAZA", "OLDFAIR", "QUIET-ROOM", "SHORT-POLL", "TOWNHALL"]
    assert any_store.get_event("climate24").event_name == "Climate Assembly"
    assert any_store.get_event("NOPE") is None
    changed = any_store.get_event(EVENT).model_copy(update={"event_name": "Climate Assembly 2"})
    any_store.put_event(changed)
    assert any_store.get_event("Climate24").event_name == "Climate Assembly 2"
    recased = changed.model_copy(update={"event_id": "climate24", "event_name": "Climate Assembly 3"})
    any_store.put_event(recased)
    stored = any_store.get_event("CLIMATE24")
    assert (stored.event_id, stored.event_name) == ("CLIMATE24", "Climate Assembly 3"), "snapshots name it so"
    assert len(any_store.list_events()) == 8
    assert any_store.delete_event("townhall") is True
    assert any_store.delete_event("townhall") is False
    assert any_store.get_event(OTHER_EVENT) is None
    assert [event.event_id for event in any_store.list_events()] == [
        "CLIMATE24", "FORO-BOGOTA", "MTL-FORUM", "NBO-BARAZA", "OLDFAIR", "QUIET-ROOM", "SHORT-POLL"]


# privacy ----------------------------------------------------------------------------------


def test_forgetting_a_participant_removes_them_everywhere_and_no_one_else(any_store):
    deliver(any_store, inbound("SM-1", body="before any event"), event_id=None)
    deliver(any_store, inbound("SM-2", at=T0 + timedelta(minutes=1)))
    deliver(any_store, inbound("SM-3", at=T0 + timedelta(minutes=2)), event_id=OTHER_EVENT)
    deliver(any_store, inbound("SM-sam", participant=SAM, at=T0 + timedelta(minutes=3)))
    any_store.record_inbound(inbound("SM-4", at=T0 + timedelta(minutes=4)))
    removed = any_store.forget_participant(ALEX)
    assert removed == {
        "user_event_tracking": 1, "event_participants": 2, "interactions": 3, "inbox": 4, "outbox": 3,
    }
    assert any_store.load_participant(ALEX) is None
    assert any_store.get_profile(EVENT, ALEX) is None and any_store.get_profile(OTHER_EVENT, ALEX) is None
    assert list(any_store.iter_interactions(participant=ALEX)) == []
    assert any_store.inbound_status("SM-4") is None and any_store.get_reply("SM-2-r1") is None
    assert [i.id for i in any_store.iter_interactions()] == ["SM-sam"]
    assert any_store.get_profile(EVENT, SAM) is not None
    assert any_store.forget_participant(ALEX) == dict.fromkeys(removed, 0)


def test_a_forgotten_participants_deliveries_are_never_recorded_again(any_store):
    done, waiting = inbound("SM-1"), inbound("SM-2", at=T0 + timedelta(minutes=1))
    deliver(any_store, done)
    any_store.record_inbound(waiting)  # arrived, not yet processed, when the operator forgot
    any_store.forget_participant(ALEX)
    for message in (done, waiting):
        assert any_store.record_inbound(message) is False, "a replay must not bring them back"
        assert any_store.inbound_status(message.message_sid) is None
    assert any_store.pending_inbound(LATER) == []
    assert any_store.record_failed_attempt("SM-2", "the tombstone is not written to") == 0
    assert [text for text in everything_stored(any_store) if ALEX.removeprefix("+") in text] == []
    later = inbound("SM-3", at=T0 + timedelta(days=1))
    assert any_store.record_inbound(later) is True, "a new message from the number is a new participant"
    assert any_store.load_participant(ALEX) is None
    assert any_store.pending_inbound(LATER) == [later]


def test_a_secret_is_made_once_and_kept(any_store):
    first = any_store.secret("participant-key")
    assert len(first) == 64
    assert any_store.secret("participant-key") == first
    assert any_store.secret("another") != first
    other = open_store(store_url(any_store))
    try:
        assert other.secret("participant-key") == first
    finally:
        other.close()


def test_numbers_are_blocked_and_unblocked_by_key(any_store):
    entry = BlockedNumber(key="p-0123456789abcdef", masked="+155*****01", blocked_at=T0)
    assert any_store.list_blocks() == []
    assert any_store.add_block(entry) is True
    assert any_store.add_block(entry.model_copy(update={"blocked_at": T0 + timedelta(days=1)})) is False
    assert any_store.list_blocks() == [entry]
    assert any_store.remove_block(entry.key) is True
    assert any_store.remove_block(entry.key) is False
    assert any_store.list_blocks() == []


def test_snapshots_profiles_and_replies_stream_for_operators(any_store):
    deliver(any_store, inbound("SM-1"))
    deliver(any_store, inbound("SM-2", participant=SAM, at=T0 + timedelta(minutes=1)))
    deliver(any_store, inbound("SM-3", at=T0 + timedelta(minutes=2)), event_id=OTHER_EVENT)
    assert [s.participant for s in any_store.iter_participants()] == [ALEX, SAM]
    assert any_store.load_participant(ALEX) in list(any_store.iter_participants())
    profiles = list(any_store.iter_profiles("climate24"))
    assert [p["participant"] for p in profiles] == [ALEX, SAM]
    assert profiles[1] == any_store.get_profile(EVENT, SAM)
    assert [p["participant"] for p in any_store.iter_profiles(OTHER_EVENT)] == [ALEX]
    assert list(any_store.iter_profiles("QUIET-ROOM")) == []
    any_store.update_reply("SM-1-r1", "failed", error="63016")
    any_store.update_reply("SM-2-r1", "sent", provider_sid="SMp2")
    any_store.update_reply_by_provider_sid("SMp2", "undelivered")
    assert sorted(r.id for r in any_store.iter_replies(["failed", "undelivered"])) == ["SM-1-r1", "SM-2-r1"]
    assert [r.id for r in any_store.iter_replies(["pending"])] == ["SM-3-r1"]


def test_replies_twilio_accepted_since_a_time_are_read_without_the_rest_of_the_outbox(any_store):
    for n in (1, 2, 3, 4):
        deliver(any_store, inbound(f"SM-{n}", at=T0 + timedelta(minutes=n)))
    handed_over = ["sent", "delivered", "read", "failed", "undelivered"]
    before = now()
    any_store.update_reply("SM-1-r1", "sent", provider_sid="SMp1")
    between = now()
    any_store.update_reply("SM-2-r1", "sent", provider_sid="SMp2")
    any_store.update_reply("SM-3-r1", "failed", error="63016")
    any_store.update_reply_by_provider_sid("SMp1", "read")
    first = any_store.get_reply("SM-1-r1")
    assert before <= first.sent_at <= between and first.status == "read"
    assert any_store.get_reply("SM-3-r1").sent_at is None, "refused by Twilio: never accepted"
    assert [r.id for r in any_store.iter_replies(handed_over, since=before)] == ["SM-1-r1", "SM-2-r1"]
    assert [r.id for r in any_store.iter_replies(handed_over, since=between)] == ["SM-2-r1"]
    assert list(any_store.iter_replies(handed_over, since=now())) == []
    assert sorted(r.id for r in any_store.iter_replies(handed_over)) == ["SM-1-r1", "SM-2-r1", "SM-3-r1"]


def test_operator_streams_page_past_one_query(any_store):
    """More participants than one page holds (500), so paging must resume correctly."""
    snapshots = [ParticipantSnapshot(participant=f"+1555020{n:04d}", state="state-a") for n in range(520)]
    for number, snapshot in enumerate(snapshots):
        message = inbound(f"SM-page-{number}", participant=snapshot.participant)
        outcome = Outcome(message_sid=message.message_sid, snapshot=snapshot.model_copy(update={"version": 1}),
                          expected_version=0)
        any_store.commit(outcome)
    assert [s.participant for s in any_store.iter_participants()] == [s.participant for s in snapshots]


def test_ping_answers(any_store):
    any_store.ping()


# storage trouble ---------------------------------------------------------------------------

TIMEOUT = 0.5
MARGIN = 3.0


def store_calls(store: Store) -> dict[str, Callable[[], object]]:
    """Every method of the contract, called with ordinary arguments (streams consumed)."""
    message = inbound("SM-trouble")
    entry = BlockedNumber(key="p-0123456789abcdef", masked="+155*****01", blocked_at=T0)
    return {
        "record_inbound": lambda: store.record_inbound(message),
        "record_inbound_many": lambda: store.record_inbound_many([message, inbound("SM-trouble-2")]),
        "record_failed_attempt": lambda: store.record_failed_attempt("SM-1", "boom"),
        "commit": lambda: store.commit(outcome_for(None, message)),
        "put_event": lambda: store.put_event(EventConfig(event_id="PIER", event_name="Pier")),
        "delete_event": lambda: store.delete_event(EVENT),
        "save_transcript": lambda: store.save_transcript("SM-1", "text", None, None),
        "claim_reply": lambda: store.claim_reply("SM-1-r1", 60, "sender-a"),
        "update_reply": lambda: store.update_reply("SM-1-r1", "sent", provider_sid="SMp1"),
        "record_reply_part": lambda: store.record_reply_part("SM-1-r1", 1, "SMp1"),
        "update_reply_by_provider_sid": lambda: store.update_reply_by_provider_sid("SMp0", "delivered"),
        "forget_participant": lambda: store.forget_participant(SAM),
        "secret": lambda: store.secret("another-secret"),
        "add_block": lambda: store.add_block(entry),
        "remove_block": lambda: store.remove_block("p-fedcba9876543210"),
        "ping": store.ping,
        "inbound_status": lambda: store.inbound_status("SM-1"),
        "pending_inbound": lambda: store.pending_inbound(LATER),
        "load_participant": lambda: store.load_participant(ALEX),
        "load_queue": lambda: store.load_queue(ALEX),
        "pending_message": lambda: store.pending_message("SM-1"),
        "get_event": lambda: store.get_event(EVENT),
        "list_events": store.list_events,
        "get_profile": lambda: store.get_profile(EVENT, ALEX),
        "iter_interactions": lambda: list(store.iter_interactions(EVENT)),
        "pending_replies": lambda: store.pending_replies(now()),
        "get_reply": lambda: store.get_reply("SM-1-r1"),
        "replies_for": lambda: store.replies_for(ALEX, T0),
        "list_blocks": store.list_blocks,
        "iter_participants": lambda: list(store.iter_participants()),
        "iter_profiles": lambda: list(store.iter_profiles(EVENT)),
        "iter_replies": lambda: list(store.iter_replies(["pending"])),
    }


WRITES = {
    "record_inbound", "record_inbound_many", "record_failed_attempt", "commit", "put_event", "delete_event", "save_transcript",
    "claim_reply", "update_reply", "record_reply_part", "update_reply_by_provider_sid", "forget_participant",
    "secret", "add_block", "remove_block", "ping",
}


def test_the_calls_tried_are_the_whole_contract(store):
    contract = {name for name in dir(Store) if not name.startswith("_")} - {"close"}
    assert set(store_calls(store)) == contract
    assert WRITES < contract


def test_every_method_of_the_store_is_in_one_port_and_both_stores_keep_every_port():
    """The ports split the store without overlap; `ping` and `close` are the store's own."""
    def methods(protocol: type) -> set[str]:
        return {name for name in vars(protocol) if not name.startswith("_")}

    ports = (Inbox, Conversations, Outbox, Events, Records, Privacy)
    every = [name for port in ports for name in methods(port)]
    assert len(every) == len(set(every)), "a method is in two ports"
    assert set(every) | {"ping", "close"} == {name for name in dir(Store) if not name.startswith("_")}
    for implementation in (SQLiteStore, FirestoreStore):
        for port in ports:
            assert methods(port) <= set(dir(implementation)), (implementation.__name__, port.__name__)


@pytest.fixture
def held_sqlite(store) -> Iterator[SQLiteStore]:
    """The SQLite store with a short deadline while another process holds its write lock."""
    deliver(store, inbound("SM-1"))
    short = SQLiteStore(store.path, timeout=TIMEOUT)
    try:
        with write_lock_held(store.path):
            yield short
    finally:
        short.close()


@pytest.fixture
def unanswering_firestore(monkeypatch) -> Iterator[FirestoreStore]:
    """A Firestore store with a short deadline whose server accepts connections and then
    never answers (a listening socket nobody reads), as a paused or wedged Firestore."""
    black_hole = socket.socket()
    black_hole.bind(("127.0.0.1", 0))
    black_hole.listen(64)
    host = f"127.0.0.1:{black_hole.getsockname()[1]}"
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", host)
    store = FirestoreStore(firestore_client("listener-unanswering", Settings(FIRESTORE_EMULATOR_HOST=host)),
                           timeout=TIMEOUT)
    try:
        yield store
    finally:
        store.close()
        black_hole.close()


def _fails_within_the_deadline(call: Callable[[], object]) -> StoreError:
    started = time.monotonic()
    with pytest.raises(StoreError) as raised:
        call()
    elapsed = time.monotonic() - started
    assert elapsed < TIMEOUT + MARGIN, f"failed after {elapsed:.1f}s, past the store's deadline"
    return raised.value


def test_sqlite_writes_fail_within_the_deadline_while_another_process_holds_the_lock(held_sqlite):
    calls = store_calls(held_sqlite)
    for name in sorted(WRITES):
        error = _fails_within_the_deadline(calls[name])
        assert isinstance(error, StoreUnavailable), f"{name}: {error!r}"
    # Reading needs no lock: the store still answers reads.
    assert held_sqlite.inbound_status("SM-1") == "done"
    assert [i.id for i in held_sqlite.iter_interactions(EVENT)] == ["SM-1"]


def test_sqlite_takes_writes_at_once_when_the_other_process_lets_go(store):
    """A failed write releases what it took: the next one is not held up by it."""
    short = SQLiteStore(store.path, timeout=TIMEOUT)
    try:
        with write_lock_held(store.path) as holder:
            for sid in ("SM-a", "SM-b"):
                with pytest.raises(StoreUnavailable):
                    short.record_inbound(inbound(sid))
            holder.kill()
            holder.wait(timeout=10)
            recorded: list[bool] = []
            writer = threading.Thread(target=lambda: recorded.append(short.record_inbound(inbound("SM-a"))), daemon=True)
            started = time.monotonic()
            writer.start()
            writer.join(timeout=10)
            assert recorded == [True], "the write after the lock was released never finished"
            assert time.monotonic() - started < 1.0
    finally:
        short.close()


def test_every_firestore_call_fails_within_the_deadline_when_firestore_does_not_answer(unanswering_firestore):
    for name, call in store_calls(unanswering_firestore).items():
        error = _fails_within_the_deadline(call)
        assert isinstance(error, StoreUnavailable), f"{name}: {error!r}"


def test_a_database_file_that_is_not_one_is_a_store_error(tmp_path):
    path = tmp_path / "garbage.db"
    path.write_bytes(os.urandom(8192))
    with pytest.raises(StoreError, match="not a database"):
        SQLiteStore(path)


def test_a_database_made_before_newer_columns_gets_them_filled(tmp_path):
    """The inbox's failed-attempt columns, and the outbox's claim end (filled from each
    row's JSON, so a reply a crashed sender held is still found once its claim ends)."""
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE inbox (message_sid TEXT PRIMARY KEY, participant TEXT NOT NULL, status TEXT NOT NULL,"
        " received_at TEXT NOT NULL, data TEXT NOT NULL)"
    )
    old.execute(
        "CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
        " participant TEXT NOT NULL, status TEXT NOT NULL, data TEXT NOT NULL)"
    )
    message = inbound("SM-old")
    held = reply_to(message).model_copy(update={"status": "sending", "claimed_by": "dead", "claimed_until": T0})
    old.execute("INSERT INTO inbox VALUES (?, ?, 'pending', ?, ?)",
                (message.message_sid, message.participant, message.received_at.isoformat(), message.model_dump_json()))
    old.execute("INSERT INTO outbox (id, participant, status, data) VALUES (?, ?, 'sending', ?)",
                (held.id, held.participant, held.model_dump_json()))
    old.commit()
    old.close()
    store = SQLiteStore(path)
    try:
        assert store.pending_inbound(LATER) == [message]
        assert store.record_failed_attempt("SM-old", "boom") == 1
        assert store.pending_replies(T0 - timedelta(seconds=1)) == []
        assert store.pending_replies(T0 + timedelta(seconds=0.5)) == [held]
        assert store.replies_for(ALEX, T0) == [held]
    finally:
        store.close()


# Firestore's own data ---------------------------------------------------------------------


def test_a_shared_commit_with_one_stale_snapshot_lands_every_other_one(firestore_store):
    """The request that carries several threads' commits fails whole on one stale
    precondition; each is then committed alone and only the stale one conflicts."""
    people = [f"+1555012{n:04d}" for n in range(4)]
    for person in people:
        deliver(firestore_store, inbound(f"SM-first-{person}", participant=person))
    outcomes = [
        outcome_for(firestore_store.load_queue(person)[0], inbound(f"SM-second-{person}", participant=person))
        for person in people
    ]
    deliver(firestore_store, inbound("SM-elsewhere", participant=people[1], at=T0 + timedelta(minutes=1)))
    units = [firestore_store._outcome_writes(outcome)[0] for outcome in outcomes]
    answers = firestore_store._commit_many(units)
    assert isinstance(answers[1], VersionConflict)
    assert [type(answer).__name__ for answer in answers] == ["DatetimeWithNanoseconds", "VersionConflict"] + [
        "DatetimeWithNanoseconds"
    ] * 2
    assert [firestore_store.load_participant(person).version for person in people] == [2, 2, 2, 2]
    assert [firestore_store.get_reply(f"SM-second-{person}-r1") is not None for person in people] == [
        True, False, True, True
    ]


def test_inbox_items_and_tombstones_are_keyed_by_a_hash_of_the_message_sid(firestore_store):
    message = inbound("SM-keyed")
    firestore_store.record_inbound(message)
    inbox = firestore_store.client.collection("inbox")
    assert inbox.document(inbox_key("SM-keyed")).get().exists
    assert not inbox.document("SM-keyed").get().exists
    firestore_store.forget_participant(ALEX)
    assert inbox.document(inbox_key("SM-keyed")).get().to_dict() == {"status": "forgotten"}


def test_an_inbox_item_stored_under_its_raw_message_sid_is_still_processed(firestore_store):
    """Items recorded before inbox keys were hashed: recovery moves each to its key."""
    message = inbound("SM-legacy")
    legacy = firestore_store.client.collection("inbox").document("SM-legacy")
    legacy.set({**message.model_dump(mode="json"), "status": "pending"})
    assert firestore_store.pending_inbound(LATER) == [message]
    assert firestore_store.inbound_status("SM-legacy") == "pending"
    assert not legacy.get().exists
    assert firestore_store.record_inbound(message) is False, "a retry of it is a duplicate"
    firestore_store.commit(outcome_for(None, message))
    assert firestore_store.pending_inbound(LATER) == []



def test_an_info_document_of_the_original_tools_loads(firestore_store):
    original = {
        "event_name": "Harbour Consultation",
        "event_location": None,
        "welcome_message": "Welcome!",
        "extraction_settings": {"age_extraction": True, "region_extraction": None},
        "created_by": "admin-console",
    }
    firestore_store.client.collection("AOI_Harbour7").document("info").set(original)
    event = firestore_store.get_event("HARBOUR7")
    assert event == EventConfig(
        event_id="Harbour7", event_name="Harbour Consultation", welcome_message="Welcome!",
        extraction_settings={"age_extraction": True},
    )
    assert event.extraction_settings.enabled("name", True) and not event.extraction_settings.enabled("region")
    assert "Harbour7" in [event.event_id for event in firestore_store.list_events()]


def test_a_profile_of_the_original_tools_keeps_its_fields(firestore_store):
    profile = firestore_store.client.collection("AOI_CLIMATE24").document(ALEX)
    profile.set({"name": "Alex", "interactions": [{"message": "from the old bot"}]})
    deliver(firestore_store, inbound("SM-1"))
    stored = profile.get().to_dict()
    assert stored["interactions"] == [{"message": "from the old bot"}]
    assert stored["messages"] == 1


def test_the_collection_prefix_is_configurable(firestore_store):
    store = open_store(f"firestore://{firestore_store.client.project}?prefix=EVT_")
    store.put_event(EventConfig(event_id="PIER", event_name="Pier"))
    assert store.client.collection("EVT_PIER").document("info").get().exists
    assert [event.event_id for event in store.list_events()] == ["PIER"]
    assert firestore_store.get_event("PIER") is None
    store.close()


def _service_account_json(project: str) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return json.dumps({
        "type": "service_account", "project_id": project, "private_key_id": "k1", "private_key": pem,
        "client_email": f"listener@{project}.iam.gserviceaccount.com", "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    })


def test_firebase_credentials_are_a_json_document_or_a_path(tmp_path):
    document = _service_account_json("harbour-prod")
    path = tmp_path / "service-account.json"
    path.write_text(document)
    for source in (document, str(path)):
        settings = Settings(FIREBASE_CREDENTIALS=source, FIRESTORE_EMULATOR_HOST=None, GOOGLE_CLOUD_PROJECT=None)
        store = open_store("firestore://?prefix=AOI_", settings)
        assert store.client.project == "harbour-prod"
    with pytest.raises(StoreError, match="FIREBASE_CREDENTIALS"):
        open_store("firestore://p", Settings(FIREBASE_CREDENTIALS="{not json", FIRESTORE_EMULATOR_HOST=None))


def test_a_listening_message_costs_one_read_and_three_commits_at_the_rpc_layer(firestore_emulator):
    """The figures README.md quotes, from the benchmark: the running server, counted at
    the Firestore client's RPC layer (and SQLite's statements) inside it."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "store_cost.py"), "--json", "--listening", "5", "--export", "0",
         "--idle", "0"],
        capture_output=True, text=True, timeout=300, check=True,
        env={**os.environ, "FIRESTORE_EMULATOR_HOST": firestore_emulator},
    )
    figures = json.loads(result.stdout)
    assert set(figures) == {"sqlite", "firestore emulator"}
    firestore = figures["firestore emulator"]
    listening = firestore["listening"]
    assert (listening["reads"], listening["commits"], listening["queries"]) == (1.0, 3.0, 0.0)
    assert firestore["onboarding, next participant (warm event cache)"]["reads"] == 1.0
    callback = firestore["a delivery-status callback (sent, delivered, read)"]
    assert callback["reads"] < 1 and callback["commits"] < 1, "a `sent` callback must cost nothing"
    assert figures["sqlite"]["listening"]["write_transactions"] == 3.0
