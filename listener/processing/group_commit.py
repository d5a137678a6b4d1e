"""Group commit: the deliveries waiting to be recorded go to the store in one write.

At a keynote hundreds of deliveries arrive in a second. Recorded one commit each, they
cost as many round trips (Firestore) or lock hand-overs and syncs (SQLite), and the
store's commit rate, not this program, sets how long Twilio waits for its answer. So a
delivery is recorded by the next free commit slot, together with every delivery that
arrived while the slots were busy (up to a batch's size). Alone, a delivery is committed
at once, as it would be by itself; under a burst the batches grow with the burst.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

from listener.models import InboundMessage
from listener.store.base import StoreUnavailable

StartCommit = Callable[[Sequence[InboundMessage]], "asyncio.Future[list[bool]]"]
"""Starts recording a batch off the event loop; its future says, in order, whether each
message was recorded (False: its MessageSid was known)."""


@dataclass(eq=False)
class Recording:
    """One delivery waiting for its commit; `result` is whether it was recorded."""

    message: InboundMessage
    result: asyncio.Future[bool] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    taken: bool = False


class GroupCommit:
    """Records deliveries with at most `slots` commits under way, each of at most
    `batch_size` deliveries, taken in the order they came."""

    def __init__(self, start: StartCommit, slots: int, batch_size: int) -> None:
        self._start = start
        self.slots = slots
        self.batch_size = batch_size
        self._waiting: deque[Recording] = deque()
        self._under_way = 0

    def record(self, message: InboundMessage) -> Recording:
        """Queue `message` for the next commit (started now if a slot is free)."""
        recording = Recording(message)
        self._waiting.append(recording)
        self._dispatch()
        return recording

    @staticmethod
    def withdraw(recording: Recording) -> None:
        """Its request gave up: a recording not yet in a commit never goes into one (its
        result is cancelled); one already in a commit runs to its end."""
        if not recording.taken:
            recording.result.cancel()

    def _dispatch(self) -> None:
        while self._under_way < self.slots and (batch := self._next_batch()):
            try:
                commit = self._start([recording.message for recording in batch])
            except Exception as exc:  # the store refused the call before it started
                _settle(batch, exc)
                continue
            self._under_way += 1
            commit.add_done_callback(partial(self._committed, batch))

    def _next_batch(self) -> list[Recording]:
        batch: list[Recording] = []
        while self._waiting and len(batch) < self.batch_size:
            recording = self._waiting.popleft()
            if not recording.result.done():
                recording.taken = True
                batch.append(recording)
        return batch

    def _committed(self, batch: list[Recording], commit: asyncio.Future[list[bool]]) -> None:
        self._under_way -= 1
        if commit.cancelled():
            _settle(batch, StoreUnavailable("the recording was cancelled"))
        elif (error := commit.exception()) is not None:
            _settle(batch, error)
        else:
            for recording, recorded in zip(batch, commit.result(), strict=True):
                recording.result.set_result(recorded)
        self._dispatch()


def _settle(batch: list[Recording], error: BaseException) -> None:
    for recording in batch:
        recording.result.set_exception(error)
