"""Under a burst the webhook goes first: its inbox write before processing's writes
(the SQLite store's write lock), and processing holds back while webhooks are answered."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from listener.config import Settings
from listener.processing.answering_first import AnsweringFirst
from listener.processing.arrival import InboxLimits
from listener.store.write_lock import URGENT_IN_A_ROW, WriteLock


def _queue_writer(lock: WriteLock, urgent: bool, order: list[str], name: str) -> threading.Thread:
    def write() -> None:
        assert lock.acquire(5, urgent=urgent)
        try:
            order.append(name)
        finally:
            lock.release()

    thread = threading.Thread(target=write)
    thread.start()
    return thread


def _wait_until(condition, seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_an_urgent_writer_goes_before_writers_that_waited_longer():
    lock = WriteLock()
    assert lock.acquire(1)
    order: list[str] = []
    waiting = [_queue_writer(lock, False, order, f"processing-{n}") for n in range(3)]
    time.sleep(0.05)
    urgent = _queue_writer(lock, True, order, "webhook")
    _wait_until(lambda: lock._urgent_waiting == 1)
    lock.release()
    for thread in [*waiting, urgent]:
        thread.join(5)
    assert order[0] == "webhook" and sorted(order[1:]) == ["processing-0", "processing-1", "processing-2"]


def test_the_lock_is_reentrant_and_gives_up_at_its_deadline():
    lock = WriteLock()
    assert lock.acquire(1) and lock.acquire(1)  # the holder takes it again
    lock.release()
    other: list[bool] = []
    thread = threading.Thread(target=lambda: other.append(lock.acquire(0.1, urgent=True)))
    thread.start()
    thread.join(5)
    assert other == [False]  # still held once: the other thread gave up
    assert lock._urgent_waiting == 0
    lock.release()
    late = threading.Thread(target=lambda: other.append(lock.acquire(1)) or lock.release())
    late.start()
    late.join(5)
    assert other == [False, True]


def test_only_the_holder_releases():
    lock = WriteLock()
    assert lock.acquire(1)
    errors: list[Exception] = []

    def release() -> None:
        try:
            lock.release()
        except RuntimeError as exc:
            errors.append(exc)

    thread = threading.Thread(target=release)
    thread.start()
    thread.join(5)
    assert errors and "does not hold it" in str(errors[0])


def _answered(first: AnsweringFirst, count: int) -> None:
    for _ in range(count):
        with first.answering():
            pass


def test_processing_waits_while_a_webhook_is_answered():
    async def scenario() -> list[str]:
        first = AnsweringFirst(max_wait_seconds=5)
        events: list[str] = []

        async def process() -> None:
            await first.turn()
            events.append("processed")

        with first.answering():
            task = asyncio.create_task(process())
            await asyncio.sleep(0.05)
            events.append("answered")
        await asyncio.wait_for(task, 1)
        return events

    assert asyncio.run(scenario()) == ["answered", "processed"]


def test_a_steady_stream_of_webhooks_delays_processing_by_at_most_the_bound():
    async def scenario() -> float:
        first = AnsweringFirst(max_wait_seconds=0.2)
        with first.answering():
            started = time.monotonic()
            await first.turn()
            return time.monotonic() - started

    waited = asyncio.run(scenario())
    assert 0.15 <= waited < 2


@pytest.mark.parametrize("answering", [0, 1, 24])
def test_nothing_answered_nothing_waited(answering):
    async def scenario() -> bool:
        first = AnsweringFirst(max_wait_seconds=5, burst_arrivals=25, burst_window_seconds=10)
        _answered(first, answering)
        await asyncio.wait_for(first.turn(), 0.5)
        return True

    assert asyncio.run(scenario())


def _waited_after_a_burst(max_wait_seconds: float, burst_window_seconds: float) -> float:
    """How long processing waits once 25 webhooks have begun and been answered."""
    async def scenario() -> float:
        first = AnsweringFirst(max_wait_seconds, burst_arrivals=25, burst_window_seconds=burst_window_seconds)
        _answered(first, 25)
        started = time.monotonic()
        await first.turn()
        return time.monotonic() - started

    return asyncio.run(scenario())


def test_after_a_burst_of_webhooks_processing_waits_for_it_to_pass_though_all_are_answered():
    assert 0.25 <= _waited_after_a_burst(max_wait_seconds=5, burst_window_seconds=0.3) < 2


def test_a_burst_that_goes_on_holds_processing_until_its_last_arrivals_pass():
    async def scenario() -> tuple[float, float]:
        first = AnsweringFirst(max_wait_seconds=5, burst_arrivals=25, burst_window_seconds=0.3)
        _answered(first, 25)
        started = time.monotonic()
        task = asyncio.create_task(first.turn())
        await asyncio.sleep(0.2)
        _answered(first, 25)  # more arrive before the first ones leave the window
        await asyncio.wait_for(task, 3)
        return time.monotonic() - started, 0.2 + 0.3

    waited, burst_passed = asyncio.run(scenario())
    assert burst_passed - 0.05 <= waited < 3


def test_a_burst_delays_processing_by_at_most_the_bound():
    assert 0.15 <= _waited_after_a_burst(max_wait_seconds=0.2, burst_window_seconds=10) < 2


@pytest.mark.parametrize(
    ("store_url", "configured", "commits"),
    [("sqlite:///x.db", None, 1), ("firestore://project", None, 2), ("firestore://project", 3, 3)],
)
def test_the_webhook_commits_recordings_as_the_store_needs(store_url, configured, commits):
    settings = Settings(_env_file=None, STORE_URL=store_url, INBOX_COMMITS=configured, INBOX_BATCH_SIZE=50)
    limits = InboxLimits.from_settings(settings)
    assert (limits.commits, limits.batch_size, limits.threads) == (commits, 50, 8)


def test_a_steady_stream_of_urgent_writers_lets_another_writer_in_after_a_few():
    """Webhooks arriving without pause slow processing's writes down; they never starve them."""
    lock = WriteLock()
    order: list[str] = []
    assert lock.acquire(1)
    processing = _queue_writer(lock, False, order, "processing")
    _wait_until(lambda: lock._others_waiting == 1)
    webhooks = [_queue_writer(lock, True, order, f"webhook-{n}") for n in range(URGENT_IN_A_ROW + 3)]
    _wait_until(lambda: lock._urgent_waiting == URGENT_IN_A_ROW + 3)
    lock.release()
    for thread in [processing, *webhooks]:
        thread.join(5)
    assert order.index("processing") == URGENT_IN_A_ROW
    assert all(name.startswith("webhook") for name in order[:URGENT_IN_A_ROW])
