"""Many calls at once, made as few requests: the store's coalesced calls (threads) and the
webhook's group commit (the event loop), with the real SQLite store behind the latter."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import datetime, timezone

import pytest
from concurrency_support import answers_at_once

from listener.models import InboundMessage
from listener.processing.arrival import Arrival, InboxLimits
from listener.store.base import StoreUnavailable
from listener.store.coalesce import Coalesced
from listener.store.sqlite import SQLiteStore


class Requests:
    """`run_many` for `Coalesced`: notes each request, holds the first until released."""

    def __init__(self, hold_first: bool = False) -> None:
        self.made: list[list[int]] = []
        self.running = 0
        self.most_running = 0
        self.first_started = threading.Event()
        self.release = threading.Event()
        if not hold_first:
            self.release.set()
        self._lock = threading.Lock()

    def __call__(self, items: list[int]) -> list[object]:
        with self._lock:
            self.made.append(list(items))
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        self.first_started.set()
        self.release.wait(10)
        time.sleep(0.01)
        with self._lock:
            self.running -= 1
        return [ValueError(f"item {item} is its own trouble") if item < 0 else item * 10 for item in items]


def call_all(coalesced: Coalesced, items: list[int]) -> dict[int, object]:
    return answers_at_once(coalesced, items, timeout=10)


def test_a_call_alone_is_its_own_request_at_once():
    requests = Requests()
    coalesced = Coalesced(requests, limit=100)
    assert coalesced(4) == 40
    assert coalesced(5) == 50
    assert requests.made == [[4], [5]]


def test_calls_made_while_the_store_is_busy_go_in_one_request():
    requests = Requests(hold_first=True)
    coalesced = Coalesced(requests, limit=100, slots=1)
    first = threading.Thread(target=coalesced, args=(0,))
    first.start()
    assert requests.first_started.wait(5)
    waiting = [threading.Thread(target=call_all, args=(coalesced, [item])) for item in range(1, 31)]
    for thread in waiting:
        thread.start()
    time.sleep(0.2)
    requests.release.set()
    for thread in [first, *waiting]:
        thread.join(10)
    assert requests.made[0] == [0]
    assert sorted(requests.made[1]) == list(range(1, 31)) and len(requests.made) == 2


def test_a_request_never_exceeds_its_limit_nor_the_slots():
    requests = Requests(hold_first=True)
    coalesced = Coalesced(requests, limit=7, slots=2, weight=lambda item: 2 if item % 2 else 1)
    holder = threading.Thread(target=coalesced, args=(100,))
    holder.start()
    assert requests.first_started.wait(5)
    threading.Timer(0.3, requests.release.set).start()
    answers = call_all(coalesced, list(range(1, 41)))
    holder.join(10)
    assert answers == {item: item * 10 for item in range(1, 41)}
    assert sorted(item for made in requests.made for item in made) == [*range(1, 41), 100]
    assert max(sum(2 if item % 2 else 1 for item in made) for made in requests.made) <= 7
    assert requests.most_running <= 2
    assert len(requests.made) < 41, "waiting calls were made one by one"


def test_an_items_own_failure_is_its_callers_alone_and_a_failed_request_everyones():
    requests = Requests()
    coalesced = Coalesced(requests, limit=100)
    answers = call_all(coalesced, [-1, 2, 3, -4])
    assert [type(answers[item]).__name__ for item in (-1, -4)] == ["ValueError", "ValueError"]
    assert (answers[2], answers[3]) == (20, 30)

    def broken(items: list[int]) -> list[object]:
        raise StoreUnavailable("the store is away")

    failing = Coalesced(broken, limit=100)
    answers = call_all(failing, [1, 2, 3])
    assert {type(answer) for answer in answers.values()} == {StoreUnavailable}
    assert call_all(Coalesced(requests, limit=100), [5]) == {5: 50}, "the next request is made as usual"


# the webhook's group commit ---------------------------------------------------------------


class HeldInbox:
    """The real SQLite store as the webhook's inbox; each batch noted, and held while
    `hold` is clear (a slow store)."""

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store
        self.batches: list[list[str]] = []
        self.hold = threading.Event()
        self.hold.set()

    def record_inbound_many(self, messages: list[InboundMessage]) -> list[bool]:
        self.batches.append([message.message_sid for message in messages])
        self.hold.wait(10)
        return self.store.record_inbound_many(messages)


def message(sid: str, participant: str) -> object:
    return lambda at: InboundMessage(message_sid=sid, participant=participant, body="hello", received_at=at)


@pytest.fixture
def inbox(tmp_path):
    store = SQLiteStore(tmp_path / "inbox.db")
    yield HeldInbox(store)
    store.close()


def test_deliveries_that_arrive_together_are_recorded_in_few_commits(inbox):
    submitted: list[str] = []
    people = [f"+1555013{n:04d}" for n in range(200)]

    async def scenario() -> list[bool]:
        arrival = Arrival(inbox, lambda recorded: submitted.append(recorded.message_sid), InboxLimits(commits=1))
        try:
            return await asyncio.gather(*(arrival.accept(person, message(f"SM{person}", person)) for person in people))
        finally:
            arrival.close()

    assert asyncio.run(scenario()) == [True] * len(people)
    assert sorted(submitted) == sorted(f"SM{person}" for person in people)
    assert len(inbox.batches) <= 5, f"{len(inbox.batches)} commits for {len(people)} deliveries"
    assert max(len(batch) for batch in inbox.batches) <= InboxLimits().batch_size
    assert len(inbox.store.pending_inbound(datetime(2100, 1, 1, tzinfo=timezone.utc), limit=1000)) == len(people)


def test_a_delivery_given_up_on_before_its_commit_is_never_recorded(inbox):
    """The first commit is held past the second delivery's deadline: the second is
    withdrawn (503 for Twilio to retry), and the participant's next delivery goes on."""
    person = "+15550130001"
    submitted: list[str] = []

    async def scenario() -> tuple[object, object, bool]:
        arrival = Arrival(inbox, lambda recorded: submitted.append(recorded.message_sid),
                          InboxLimits(timeout_seconds=0.3, commits=1))
        try:
            inbox.hold.clear()
            first = asyncio.create_task(arrival.accept("+15550130002", message("SM-held", "+15550130002")))
            await asyncio.sleep(0.05)
            with pytest.raises(StoreUnavailable):
                async with arrival.within_deadline():
                    await arrival.accept(person, message("SM-given-up", person))
            inbox.hold.set()
            held = await first
            later = await arrival.accept(person, message("SM-later", person))
            return held, later, True
        finally:
            arrival.close()

    assert asyncio.run(scenario()) == (True, True, True)
    assert submitted == ["SM-held", "SM-later"]
    assert inbox.store.inbound_status("SM-given-up") is None
    assert all("SM-given-up" not in batch for batch in inbox.batches)
