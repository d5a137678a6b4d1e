"""Arrival: record one delivery durably in the inbox, then hand it to processing.

This is the only store work done before the webhook answers Twilio, so it is the part a
slow or locked store can hold up. Deliveries that arrive together are recorded together,
in one commit (`group_commit`). One participant's deliveries are recorded one at a time,
so the order they are recorded in (and time-stamped with) is the order they are
processed in.

A store that stops answering must cost Twilio a quick 503 (which it retries), never a
hung request. So the webhook's store calls run on threads of their own, within a
deadline (`within_deadline`). When calls are under way and none has finished for a
second, the store is stuck: further calls are refused at once rather than queued behind
the stuck ones (a burst on a healthy store finishes commits many times a second, and
queues). A recording given up on before its commit started never starts; one already
in a commit runs to its end, and a recording that lands late is handed to processing as
any other (Twilio's retry of that delivery then finds it recorded).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TypeVar

from listener.config import Settings
from listener.models import InboundMessage
from listener.processing.group_commit import GroupCommit
from listener.store.base import StoreUnavailable
from listener.store.ports import Inbox

Result = TypeVar("Result")

STUCK_AFTER_SECONDS = 1.0
"""Store calls under way and none finished for this long: the store is not answering."""


LOCAL_STORE_COMMITS = 1
"""SQLite writes one at a time: a second commit would only wait for the lock, holding
deliveries that could have joined the next batch."""
NETWORK_STORE_COMMITS = 2
"""Each Firestore commit is a round trip: while one is under way the next can go, and
more at once would only make smaller batches (measured in `bench/burst.py`)."""


@dataclass(frozen=True)
class InboxLimits:
    """How long the webhook waits on the store, how many of its calls run at once
    (`commits` recordings, and `threads` other calls: blocklist reads, health probes), and
    how many deliveries one commit records."""

    timeout_seconds: float = 5.0
    threads: int = 8
    commits: int = LOCAL_STORE_COMMITS
    batch_size: int = 100

    @classmethod
    def from_settings(cls, settings: Settings) -> InboxLimits:
        commits = settings.inbox_commits
        if commits is None:
            commits = NETWORK_STORE_COMMITS if settings.store_url.startswith("firestore") else LOCAL_STORE_COMMITS
        return cls(settings.inbox_timeout_seconds, settings.inbox_threads, commits, settings.inbox_batch_size)


@dataclass
class _Gate:
    """A participant's arrival lock and how many deliveries hold or wait for it."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class _Progress:
    """How many store calls are under way (queued ones included) and when one last moved
    (finished, or started when none was under way), kept by the calling threads
    themselves: an event loop that is slow to run callbacks must not look like a stuck
    store."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self._moved_at = time.monotonic()

    def enter(self) -> None:
        """Count a call in, or refuse it when the store is stuck (see `refuse_if_stuck`)."""
        with self._lock:
            if self._running == 0:
                self._moved_at = time.monotonic()
            else:
                self._refuse_if_stuck()
            self._running += 1

    def refuse_if_stuck(self) -> None:
        """Raise `StoreUnavailable` when calls are under way and none has finished for
        `STUCK_AFTER_SECONDS`, counting nothing in."""
        with self._lock:
            if self._running:
                self._refuse_if_stuck()

    def _refuse_if_stuck(self) -> None:
        if time.monotonic() - self._moved_at > STUCK_AFTER_SECONDS:
            raise StoreUnavailable(
                f"{self._running} inbox calls have waited on the store for over {STUCK_AFTER_SECONDS:g}s"
            )

    def leave(self) -> None:
        with self._lock:
            self._running -= 1
            self._moved_at = time.monotonic()


class _Call:
    """One store call for a request; skipped when the request gave up before it started."""

    def __init__(self, function: Callable[..., Result], args: tuple[object, ...], progress: _Progress) -> None:
        self.function = function
        self.args = args
        self.progress = progress
        self.abandoned = False

    def __call__(self) -> Result:
        try:
            if self.abandoned:
                raise StoreUnavailable("the request gave up on this store call before it started")
            return self.function(*self.args)
        finally:
            self.progress.leave()


class Arrival:
    """Records deliveries in the inbox, as recorded by `recorded_by` (this process, to the
    others sharing the store), and passes each new one to `submit`."""

    def __init__(
        self,
        inbox: Inbox,
        submit: Callable[[InboundMessage], None],
        limits: InboxLimits | None = None,
        recorded_by: str | None = None,
    ) -> None:
        self.inbox = inbox
        self.submit = submit
        self.limits = limits or InboxLimits()
        self.recorded_by = recorded_by
        self._gates: dict[str, _Gate] = {}
        self._threads = ThreadPoolExecutor(self.limits.threads + self.limits.commits, thread_name_prefix="inbox")
        self._progress = _Progress()
        self._group = GroupCommit(self._start_recording, self.limits.commits, self.limits.batch_size)

    @asynccontextmanager
    async def within_deadline(self) -> AsyncIterator[None]:
        """Raise `StoreUnavailable` when the block takes longer than the inbox deadline."""
        try:
            async with asyncio.timeout(self.limits.timeout_seconds):
                yield
        except TimeoutError:
            raise StoreUnavailable(
                f"the store did not answer within {self.limits.timeout_seconds:g}s"
            ) from None

    async def call(self, function: Callable[..., Result], *args: object) -> Result:
        """Run a blocking store call on the inbox threads, in the caller's logging context;
        `StoreUnavailable` at once when the store is stuck (see the module's docstring)."""
        call, future = self._start(function, *args)
        return await self._wait(call, future)

    def _start(self, function: Callable[..., Result], *args: object) -> tuple[_Call, asyncio.Future[Result]]:
        self._progress.enter()
        call = _Call(function, args, self._progress)
        try:
            future = asyncio.get_running_loop().run_in_executor(
                self._threads, contextvars.copy_context().run, call
            )
        except BaseException:
            self._progress.leave()
            raise
        future.add_done_callback(self._seen)
        return call, future

    def _start_recording(self, messages: Sequence[InboundMessage]) -> asyncio.Future[list[bool]]:
        return self._start(self.inbox.record_inbound_many, messages)[1]

    @staticmethod
    def _seen(future: asyncio.Future) -> None:
        if not future.cancelled():
            future.exception()  # seen: a caller that gave up waiting will not look at it

    @staticmethod
    async def _wait(call: _Call, future: asyncio.Future[Result]) -> Result:
        """The call's result; a caller that stops waiting leaves a running call running
        and keeps a queued one from starting."""
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            call.abandoned = True
            raise

    async def accept(self, participant: str, build: Callable[[datetime], InboundMessage]) -> bool:
        """Record a delivery durably and queue it; False when its MessageSid was seen before
        (or belonged to a forgotten participant).

        `build` makes the message with its arrival time, taken in the participant's turn.
        The turn lasts until the commit that records it ends, even one the caller stopped
        waiting for, so a participant's later delivery is never recorded before an earlier
        one.
        """
        # A stuck store refuses at once, before the participant's turn: an earlier delivery
        # of theirs may be one of the calls stuck on it, holding the turn until its deadline.
        self._progress.refuse_if_stuck()
        gate = self._gates.get(participant)
        if gate is None:
            gate = self._gates[participant] = _Gate()
        gate.users += 1
        try:
            await gate.lock.acquire()
        except BaseException:
            self._leave(participant, gate)
            raise
        try:
            message = build(datetime.now(timezone.utc))
            message.recorded_by = self.recorded_by
            recording = self._group.record(message)
        except BaseException:
            self._release(participant, gate)
            raise
        # Runs before the awaiting coroutine resumes, and also when it gave up waiting.
        recording.result.add_done_callback(functools.partial(self._recorded, participant, gate, message))
        try:
            return await asyncio.shield(recording.result)
        except asyncio.CancelledError:
            self._group.withdraw(recording)
            raise

    def _recorded(self, participant: str, gate: _Gate, message: InboundMessage, recording: asyncio.Future) -> None:
        self._release(participant, gate)
        if not recording.cancelled() and recording.exception() is None and recording.result():
            self.submit(message)

    def _release(self, participant: str, gate: _Gate) -> None:
        gate.lock.release()
        self._leave(participant, gate)

    def _leave(self, participant: str, gate: _Gate) -> None:
        gate.users -= 1
        if gate.users == 0:
            del self._gates[participant]

    def close(self) -> None:
        """Stop taking calls; one still running finishes on its own thread."""
        self._threads.shutdown(wait=False, cancel_futures=True)
