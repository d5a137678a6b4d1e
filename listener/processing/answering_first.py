"""Webhooks first: processing holds back while Twilio's requests are being answered.

One process answers webhooks and processes messages on one event loop and one GIL.
Under a keynote's burst, a thousand requests arrive within a second while the first ones'
processing (engine steps, model calls, sends) is already under way; every callback on the
loop waits its turn, so processing work interleaved with the requests pushes their
answers back by seconds. Twilio waits on an answer (and retries after 15 s); nobody waits
on processing a second later. So a processing job waits, before it starts, until webhooks
are quiet, for at most `max_wait_seconds`: a steady stream of requests delays processing
by that much at most, never starves it.

Quiet is none being answered and fewer than `burst_arrivals` begun within the last
`burst_window_seconds`. None being answered alone is not enough: a burst has moments
with every request answered (its first few, a pause in the network), and processing let
go then takes the CPU the next requests need (measured in `bench/burst.py`: recordings
stopped for 0.4 s while the first sixty messages were processed and composed). Requests
arriving faster than 250 a second are a burst; a lone message, or twenty together, find
webhooks quiet as soon as they are answered.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

MAX_WAIT_SECONDS = 3.0
BURST_ARRIVALS = 25
BURST_WINDOW_SECONDS = 0.1


class AnsweringFirst:
    """Counts the webhooks being answered and notes when the latest began; lets
    processing wait for webhooks to be quiet."""

    def __init__(
        self,
        max_wait_seconds: float = MAX_WAIT_SECONDS,
        burst_arrivals: int = BURST_ARRIVALS,
        burst_window_seconds: float = BURST_WINDOW_SECONDS,
    ) -> None:
        self.max_wait_seconds = max_wait_seconds
        self.burst_window_seconds = burst_window_seconds
        self._answering = 0
        self._latest: deque[float] = deque(maxlen=burst_arrivals)
        """When the latest `burst_arrivals` webhooks began (monotonic seconds)."""
        self._none_answered = asyncio.Event()
        self._none_answered.set()

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Around one webhook's handling, from its body read to its answer."""
        self._latest.append(time.monotonic())
        self._answering += 1
        self._none_answered.clear()
        try:
            yield
        finally:
            self._answering -= 1
            if self._answering == 0:
                self._none_answered.set()

    async def turn(self) -> None:
        """Return when webhooks are quiet, or after `max_wait_seconds`."""
        deadline = time.monotonic() + self.max_wait_seconds
        while (remaining := deadline - time.monotonic()) > 0:
            if self._answering:
                try:
                    await asyncio.wait_for(self._none_answered.wait(), remaining)
                except TimeoutError:
                    return
            elif (burst_ends_in := self._burst_ends_in()) > 0:
                await asyncio.sleep(min(burst_ends_in, remaining))
            else:
                return

    def _burst_ends_in(self) -> float:
        """Seconds until fewer than `burst_arrivals` webhooks began within the window (0 or
        less: already)."""
        if len(self._latest) < (self._latest.maxlen or 0):
            return 0.0
        return self._latest[0] + self.burst_window_seconds - time.monotonic()
