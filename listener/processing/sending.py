"""Sending: each participant's replies handed to `Delivery` one at a time, in order.

After a reply is left pending (Twilio kept failing), the participant's later replies
wait too: their claims are given back (pending again), and the next recovery sweep
sends them all, oldest first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from listener.logs import message_context
from listener.models import OutboundReply
from listener.processing.delivery import Delivery
from listener.processing.lanes import OrderedLanes


class Sending:
    """Per-participant send lanes over one `Delivery`."""

    def __init__(self, delivery: Delivery) -> None:
        self.delivery = delivery
        self._lanes = OrderedLanes("send")
        self._queued: set[str] = set()
        self._stalled: set[str] = set()

    def submit(self, reply: OutboundReply, ready: Awaitable[OutboundReply] | None = None) -> None:
        """Queue a reply behind the participant's earlier replies (once). `ready` is the
        reply as it will be sent (its text being composed meanwhile), awaited in turn."""
        if reply.id in self._queued:
            return
        self._queued.add(reply.id)
        self._lanes.put(reply.participant, lambda: self._send(reply, ready))

    def queued(self, reply_id: str) -> bool:
        return reply_id in self._queued

    async def _send(self, reply: OutboundReply, ready: Awaitable[OutboundReply] | None) -> None:
        try:
            if reply.participant in self._stalled:
                await self._give_back(reply)
                return
            if ready is not None:
                reply = await ready
            with message_context(reply.in_reply_to, reply.participant):
                if not await self.delivery.deliver(reply):
                    self._stalled.add(reply.participant)
        finally:
            self._queued.discard(reply.id)

    async def _give_back(self, reply: OutboundReply) -> None:
        """A reply this process claimed but will not send now is pending again, for the
        recovery sweep to send in order after the one that stalled."""
        if reply.claimed_by == self.delivery.claimant:
            await asyncio.to_thread(self.delivery.outbox.update_reply, reply.id, "pending")

    def resume(self, reply: OutboundReply, ready: Callable[[OutboundReply], Awaitable[OutboundReply]]) -> bool:
        """A recovery sweep found this reply unsent: queue it, unless the participant's
        lane is still skipping later replies (next sweep, in order), with `ready(reply)`,
        called only then. True when queued."""
        if reply.participant in self._stalled and self._lanes.busy(reply.participant):
            return False
        self._stalled.discard(reply.participant)
        if reply.id in self._queued:
            return False
        self.submit(reply, ready(reply))
        return True

    async def drain(self, timeout: float) -> bool:
        return await self._lanes.drain(timeout)

    async def cancel(self) -> None:
        await self._lanes.cancel()
