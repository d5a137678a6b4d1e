"""Composing: owed replies written by the composer while their commit is under way.

The model takes about a second; the commit that records a reply as owed takes tens of
milliseconds, hundreds under a keynote's load. So a reply's composing starts as soon as
the step has written it (`start`), beside its commit, and the send waits for both: no
reply is sent before it is committed (a crash in between leaves it owed in the outbox,
composed again on recovery). A commit that fails drops what was started for it
(`drop`); the step runs again and its replies are composed afresh (the composer's memo
answers for a reply that came out the same).

Each reply is composed on its own task, so a participant's replies are composed at once
while their send lane still sends them one at a time, in order: the lane waits for a
reply's text only when that reply's turn comes. A composer that fails for any reason
leaves the template, which is always a reply.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from listener.ai.composer import Composer
from listener.models import OutboundReply

log = logging.getLogger(__name__)


class Composing:
    def __init__(self, composer: Composer) -> None:
        self.composer = composer
        self._started: dict[str, tuple[OutboundReply, asyncio.Future[OutboundReply]]] = {}
        """Replies whose composing began before their commit ended, by id, until sent."""

    def start(self, replies: Iterable[OutboundReply]) -> None:
        """Begin composing replies whose commit is under way."""
        for reply in replies:
            started = self._started.get(reply.id)
            if reply.compose is not None and (started is None or started[0] != reply):
                self._started[reply.id] = (reply, asyncio.ensure_future(self._compose(reply)))

    def drop(self, replies: Iterable[OutboundReply]) -> None:
        """Their commit failed: what was started for them is not theirs any more. It runs
        to its end all the same: the composer keeps the text, so the step run again for
        the same reply (a retry after a store fault) reads it without a second model call."""
        for reply in replies:
            self._started.pop(reply.id, None)

    def begin(self, reply: OutboundReply) -> asyncio.Future[OutboundReply]:
        """The committed reply as it will be sent, composed in the background when it asks
        for it (the composing `start`ed for it, when that was for this very reply)."""
        started = self._started.pop(reply.id, None)
        if started is not None and started[0] == reply:
            return started[1]
        if reply.compose is None:
            done: asyncio.Future[OutboundReply] = asyncio.get_running_loop().create_future()
            done.set_result(reply)
            return done
        return asyncio.ensure_future(self._compose(reply))

    async def _compose(self, reply: OutboundReply) -> OutboundReply:
        try:
            text = await self.composer.compose(reply)
        except Exception:
            log.exception("reply %s: the composer failed; sending the template", reply.id)
            return reply
        return reply.model_copy(update={"text": text}) if text else reply
