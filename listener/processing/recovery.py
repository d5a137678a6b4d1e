"""Recovery: what a crash (or an outage) left pending is picked up again.

On start and then every `RECOVERY_INTERVAL_SECONDS`, two kinds of work are queued again:
inbox items still pending that were received before the grace period (younger ones may
still be in the hands of the process that recorded them), and replies no sender holds:
pending ones, and those whose sender's claim ended (replies are committed already claimed,
so a claim is what says a reply is in someone's hands). Each is read with an indexed
query that returns only those, never every item in flight; what this process already
has queued is skipped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from listener.config import Settings
from listener.models import InboundMessage, OutboundReply
from listener.store.ports import Inbox, Outbox

log = logging.getLogger(__name__)

RECOVERY_BATCH = 500


class Recovery:
    def __init__(
        self,
        settings: Settings,
        inbox: Inbox,
        outbox: Outbox,
        resume_message: Callable[[InboundMessage], bool],
        resume_reply: Callable[[OutboundReply], bool],
    ) -> None:
        self.settings = settings
        self.inbox = inbox
        self.outbox = outbox
        self.resume_message = resume_message
        self.resume_reply = resume_reply
        self._task: asyncio.Task[None] | None = None

    async def sweep(self) -> tuple[int, int]:
        """Queue pending messages past the grace period and replies no one holds; counts queued."""
        now = datetime.now(timezone.utc)
        cutoff = now - timedelta(seconds=self.settings.recovery_grace_seconds)
        messages = await asyncio.to_thread(self.inbox.pending_inbound, cutoff, RECOVERY_BATCH)
        replies = await asyncio.to_thread(self.outbox.pending_replies, now, RECOVERY_BATCH)
        queued_messages = sum(1 for message in messages if self.resume_message(message))
        queued_replies = sum(1 for reply in replies if self.resume_reply(reply))
        if queued_messages or queued_replies:
            log.info("recovery: %d pending messages and %d unsent replies queued", queued_messages, queued_replies)
        return queued_messages, queued_replies

    async def _forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("recovery sweep failed; trying again in %gs", self.settings.recovery_interval_seconds)
            await asyncio.sleep(self.settings.recovery_interval_seconds)

    def start(self) -> None:
        """Begin the sweeps (the first one at once)."""
        self._task = asyncio.get_running_loop().create_task(self._forever(), name="recovery")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
