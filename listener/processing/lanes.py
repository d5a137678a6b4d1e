"""Ordered lanes: jobs with the same key run one at a time in the order they were put.

The worker keys lanes by participant, so one participant's messages are processed in
arrival order while different participants proceed in parallel. A lane exists only while
it has work: nothing about a participant is kept in memory between messages.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


class OrderedLanes:
    """One FIFO of jobs per key, each drained by its own task on the running event loop."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._queues: dict[str, deque[Job]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def put(self, key: str, job: Job) -> None:
        """Queue `job` behind the key's earlier jobs; start the lane if it was idle."""
        self._queues.setdefault(key, deque()).append(job)
        if key not in self._tasks:
            self._tasks[key] = asyncio.get_running_loop().create_task(
                self._drain(key), name=f"{self.name}-lane"
            )

    def busy(self, key: str) -> bool:
        """Whether the key's lane has work queued or running."""
        return key in self._tasks

    async def _drain(self, key: str) -> None:
        queue = self._queues[key]
        try:
            while queue:
                job = queue.popleft()
                try:
                    await job()
                except Exception:
                    # A job that fails leaves its record pending for recovery; the lane
                    # must go on with the next one rather than block the participant.
                    log.exception("%s: a job failed; its record stays pending", self.name)
        finally:
            # No await between the last `while queue` check and here, so a job put in
            # the meantime cannot be stranded: put() runs on this same loop.
            del self._queues[key]
            del self._tasks[key]

    async def drain(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for every lane to finish; True when all did."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._tasks:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            await asyncio.wait(list(self._tasks.values()), timeout=remaining)
        return True

    async def cancel(self) -> None:
        """Stop every lane; unfinished jobs stay pending in the store for the next start."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
