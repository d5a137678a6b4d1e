"""Arrival: record one delivery durably in the inbox, then hand it to processing.

This is the only store work done before the webhook answers Twilio, so it is the part a
slow or locked store can hold up. One participant's deliveries are recorded one at a
time, so the order they are recorded in (and time-stamped with) is the order they are
processed in.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone

from listener.models import InboundMessage
from listener.store.base import Store


@dataclass
class _Gate:
    """A participant's arrival lock and how many deliveries hold or wait for it."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class Arrival:
    """Records deliveries in the inbox and passes each new one to `submit`."""

    def __init__(self, store: Store, submit: Callable[[InboundMessage], None]) -> None:
        self.store = store
        self.submit = submit
        self._gates: dict[str, _Gate] = {}

    @asynccontextmanager
    async def _turn(self, participant: str) -> AsyncIterator[None]:
        gate = self._gates.get(participant)
        if gate is None:
            gate = self._gates[participant] = _Gate()
        gate.users += 1
        try:
            async with gate.lock:
                yield
        finally:
            gate.users -= 1
            if gate.users == 0:
                del self._gates[participant]

    async def accept(self, participant: str, build: Callable[[datetime], InboundMessage]) -> bool:
        """Record a delivery durably and queue it; False when its MessageSid was seen before.

        `build` makes the message with its arrival time, taken in the participant's turn.
        """
        async with self._turn(participant):
            message = build(datetime.now(timezone.utc))
            recorded = await asyncio.to_thread(self.store.record_inbound, message)
            if recorded:
                self.submit(message)
        return recorded
