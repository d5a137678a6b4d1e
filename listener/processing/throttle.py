"""How many requests go to Twilio at once, and a shared pause when it answers 429.

Every request to Twilio's API (a send, a look in its message log) takes a slot: at most
`SEND_CONCURRENCY` are in flight, whichever participants they are for. A 429 pauses every
sender, not just the one that got it: for Twilio's Retry-After when it gives one, else for
an exponential, jittered backoff that grows with each 429 in a row. When the pause ends,
one request goes first as a probe; the others wait for its answer, so a 429 storm costs
Twilio one request per pause instead of one per reply waiting.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Literal

State = Literal["open", "paused", "probing"]


class Ticket:
    """One request's turn; say how it ended: `answered` (anything but a 429, a deadline
    included) or `rate_limited`."""

    def __init__(self, throttle: Throttle, probe: bool) -> None:
        self._throttle = throttle
        self.probe = probe
        self.reported = False

    def answered(self) -> None:
        """Not a 429: when this was the probe, the pause is over."""
        self.reported = True
        if self.probe:
            self._throttle._reopen()

    def rate_limited(self, retry_after: float | None) -> None:
        self.reported = True
        self._throttle._pause(retry_after, counts=self.probe or self._throttle.state == "open")


class Throttle:
    """Bounded concurrency plus a shared 429 pause, for one process's requests to Twilio."""

    def __init__(
        self,
        concurrency: int,
        base_seconds: float,
        max_seconds: float,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._base = base_seconds
        self._max = max_seconds
        self._rng = rng
        self.state: State = "open"
        self.pauses = 0  # how many times a 429 paused sending (for logs and tests)
        self._level = 0  # 429s in a row: the next pause is base * 2^level
        self._until = 0.0  # loop time when the current pause ends
        self._changed = asyncio.Event()

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[Ticket]:
        """Wait for a slot and for any pause to end; the ticket says how Twilio answered."""
        async with self._slots:
            ticket = Ticket(self, await self._wait())
            try:
                yield ticket
            finally:
                if ticket.probe and not ticket.reported:
                    # The probe never asked Twilio (its claim was lost, it was cancelled):
                    # let the next waiter probe at once.
                    self.state = "paused"
                    self._until = 0.0
                    self._notify()

    async def _wait(self) -> bool:
        """Return when this request may go; True when it goes as the probe."""
        loop = asyncio.get_running_loop()
        while True:
            if self.state == "open":
                return False
            remaining = self._until - loop.time()
            if self.state == "paused" and remaining <= 0:
                self.state = "probing"
                return True
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), remaining if self.state == "paused" else None)
            except TimeoutError:
                pass

    def _pause(self, retry_after: float | None, counts: bool) -> None:
        """A 429. Requests already in flight when the pause began do not lengthen it
        (unless Twilio says how long to wait): a wave of 429s is one step, not fifty."""
        loop = asyncio.get_running_loop()
        if counts:
            self._level += 1
        if retry_after is not None:
            wait = retry_after
        else:
            wait = self._rng() * min(self._max, self._base * 2 ** max(0, self._level - 1))
            wait = max(wait, self._base / 2)
        if counts or retry_after is not None:
            self._until = max(self._until if self.state != "open" else 0.0, loop.time() + wait)
            if self.state != "paused":
                self.pauses += 1
            self.state = "paused"
            self._notify()

    def _reopen(self) -> None:
        self.state = "open"
        self._level = 0
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()
