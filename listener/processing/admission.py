"""Admission: a bounded number of messages in processing at once, each finished first.

Processing a message is a few calls on the store threads (read, step, commit) with, for
some messages, a model call between them. Started all at once, a keynote's thousand
messages queue their reads first, then their steps, then their commits, each stage behind
every message's previous one (the threads take work in the order it was queued): the
first commit came 2.7 s after processing began, and with it the first reply the composer
could start on. Admitted `limit` at a time, a message goes through its calls while later
ones wait at the door, so commits, composing and sending overlap from the first second.

A message waiting on the model steps out (another is admitted meanwhile) and comes back
in without queueing at the door, so a slow model holds back no one but its own message.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Admission:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._inside = 0
        self._door: deque[asyncio.Future[None]] = deque()

    @asynccontextmanager
    async def admitted(self) -> AsyncIterator[None]:
        """Around one message's processing: waits for a place at the door."""
        if self._inside >= self.limit or self._door:
            waiter = asyncio.get_running_loop().create_future()
            self._door.append(waiter)
            try:
                await waiter
            except BaseException:
                if not waiter.cancelled() and waiter.done():
                    self._leave()  # admitted just as it was cancelled: give the place on
                raise
        else:
            self._inside += 1
        try:
            yield
        finally:
            self._leave()

    @asynccontextmanager
    async def stepped_out(self) -> AsyncIterator[None]:
        """Around a wait that needs no store thread (a model call): the place goes to the
        next at the door, and this message comes back in at once afterwards."""
        self._leave()
        try:
            yield
        finally:
            self._inside += 1

    def _leave(self) -> None:
        self._inside -= 1
        while self._door and self._inside < self.limit:
            waiter = self._door.popleft()
            if not waiter.done():
                self._inside += 1
                waiter.set_result(None)
