"""Webhooks first: processing holds back while Twilio's requests are being answered.

One process answers webhooks and processes messages on one event loop and one GIL.
Under a keynote's burst, a thousand requests arrive within a second while the first ones'
processing (engine steps, model calls, sends) is already under way; every callback on the
loop waits its turn, so processing work interleaved with the requests pushes their
answers back by seconds. Twilio waits on an answer (and retries after 15 s); nobody waits
on processing a second later. So a processing job waits, before it starts, until no
webhook is being answered, for at most `max_wait_seconds`: a steady stream of requests
delays processing by that much at most, never starves it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

MAX_WAIT_SECONDS = 3.0


class AnsweringFirst:
    """Counts the webhooks being answered; lets processing wait for none."""

    def __init__(self, max_wait_seconds: float = MAX_WAIT_SECONDS) -> None:
        self.max_wait_seconds = max_wait_seconds
        self._answering = 0
        self._quiet = asyncio.Event()
        self._quiet.set()

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Around one webhook's handling, from its body read to its answer."""
        self._answering += 1
        self._quiet.clear()
        try:
            yield
        finally:
            self._answering -= 1
            if self._answering == 0:
                self._quiet.set()

    async def turn(self) -> None:
        """Return when no webhook is being answered, or after `max_wait_seconds`."""
        if self._quiet.is_set():
            return
        try:
            await asyncio.wait_for(self._quiet.wait(), self.max_wait_seconds)
        except TimeoutError:
            pass
