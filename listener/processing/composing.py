"""Composing: owed replies written by the composer as soon as they are committed.

Each reply is composed on its own task, so a participant's replies are composed at once
while their send lane still sends them one at a time, in order: the lane waits for a
reply's text only when that reply's turn comes. A composer that fails for any reason
leaves the template, which is always a reply.
"""

from __future__ import annotations

import asyncio
import logging

from listener.ai.composer import Composer
from listener.models import OutboundReply

log = logging.getLogger(__name__)


class Composing:
    def __init__(self, composer: Composer) -> None:
        self.composer = composer

    def begin(self, reply: OutboundReply) -> asyncio.Future[OutboundReply]:
        """The reply as it will be sent, composed in the background when it asks for it."""
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
