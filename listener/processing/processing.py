"""Processing one recorded message: its readings, the engine step, one commit.

The order is the architecture's: load the participant's snapshot (one read); before the
step, asynchronously, transcribe a voice note and let the model read the answers the
step will use (a dry run of the step names them); then the pure step and the one atomic
commit, together on a store thread. No model call runs inside the step or on those
threads, so a slow model slows only the participant who waits for it.

Replies are committed already claimed by this process (`claim`), so sending them needs
no claim read. When another process committed for the same participant first, the
message runs again from a fresh read, asking the model only what it did not ask yet.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from listener.ai.transcription import Transcriber
from listener.config import Settings
from listener.conversation.engine import MAX_CONFLICT_RETRIES, Engine
from listener.conversation.extraction import Extraction, Reader, ReadingRequest
from listener.models import InboundMessage, OutboundReply, Outcome, ParticipantSnapshot
from listener.processing.voice import with_transcript
from listener.store.base import VersionConflict
from listener.store.ports import Conversations

log = logging.getLogger(__name__)

T = TypeVar("T")


class Processing:
    """Runs messages through the engine; the caller keeps each participant's in order."""

    def __init__(
        self,
        settings: Settings,
        conversations: Conversations,
        engine: Engine,
        transcriber: Transcriber,
        reader: Reader | None,
        threads: ThreadPoolExecutor,
        claim: Callable[[list[OutboundReply]], None],
    ) -> None:
        self.settings = settings
        self.conversations = conversations
        self.engine = engine
        self.transcriber = transcriber
        self.reader = reader
        self.threads = threads
        self.claim = claim

    async def run(self, message: InboundMessage) -> Outcome | None:
        """Process a recorded message; None when it was processed already (by anyone)."""
        prepared = await with_transcript(message, self.transcriber, self.settings)
        readings: dict[ReadingRequest, Extraction] = {}
        for _ in range(MAX_CONFLICT_RETRIES):
            snapshot = await self.on_thread(self.conversations.load_participant, message.participant)
            if snapshot is not None and message.message_sid in snapshot.recent_message_sids:
                return None
            if self.reader is not None:
                await self._read(snapshot, prepared, readings)
            try:
                return await self.on_thread(self._step_and_commit, snapshot, prepared, readings)
            except VersionConflict:
                log.info("version conflict for %s, running again", message.message_sid)
        raise VersionConflict(f"{message.message_sid}: gave up after {MAX_CONFLICT_RETRIES} conflicts")

    async def set_aside(self, message: InboundMessage) -> Outcome | None:
        """Keep a message the flow keeps failing on, as it is (see `Engine.set_aside`)."""
        return await self.on_thread(self.engine.set_aside, message)

    async def _read(
        self,
        snapshot: ParticipantSnapshot | None,
        message: InboundMessage,
        readings: dict[ReadingRequest, Extraction],
    ) -> None:
        """Ask the model for the readings the step will use that it has not read yet."""
        assert self.reader is not None
        asked = await self.on_thread(self.engine.readings_asked, snapshot, message, readings)
        new = [request for request in asked if request not in readings]
        if not new:
            return
        results = await asyncio.gather(*(self.reader.read(request) for request in new))
        readings.update(zip(new, results, strict=True))

    def _step_and_commit(
        self,
        snapshot: ParticipantSnapshot | None,
        message: InboundMessage,
        readings: dict[ReadingRequest, Extraction],
    ) -> Outcome:
        outcome = self.engine.step(snapshot, message, readings)
        self.claim(outcome.replies)
        self.conversations.commit(outcome)
        return outcome

    async def on_thread(self, function: Callable[..., T], *args: object) -> T:
        """Store work (and the microseconds of the step) on the processing threads, in
        the caller's logging context; never on the threads the webhook records with."""
        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.threads, context.run, function, *args)
