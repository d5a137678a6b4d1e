"""Processing one recorded message: its readings, the engine step, one commit, in its
participant's order across every process.

The order is the architecture's: load the participant's snapshot and queue (one read);
before the step, asynchronously, transcribe a voice note and let the model read the
answers the step will use (a dry run of the step names them); then the pure step and the
one atomic commit, together on a store thread. No model call runs inside the step or on
those threads, so a slow model slows only the participant who waits for it.

The queue decides what comes first (`listener.processing.turns`): an older message
waiting is processed before this one, unless another process is on it, and after a
commit this process goes on through what still waits that its own lanes will not reach.

Replies are committed already claimed by this process (`claim`), so sending them needs
no claim read; their composing begins as the commit goes to the store (`composing`) and
is dropped should the commit fail. When another process committed for the same
participant first (or recorded a message for them meanwhile), the message runs again from
a fresh read, asking the model only what it did not ask yet.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Protocol, TypeVar

from listener.ai.transcription import Transcriber
from listener.config import Settings
from listener.conversation.engine import MAX_CONFLICT_RETRIES, Engine
from listener.conversation.extraction import Extraction, Reader, ReadingRequest
from listener.models import (
    InboundMessage,
    OutboundReply,
    Outcome,
    ParticipantSnapshot,
    Queue,
    Waiting,
)
from listener.processing.admission import Admission
from listener.processing.turns import Turns
from listener.processing.voice import with_transcript
from listener.store.base import StoreError, VersionConflict
from listener.store.ports import Conversations, Inbox

log = logging.getLogger(__name__)

T = TypeVar("T")


class Failed(Exception):
    """The flow raised on `message` (perhaps not the one asked about: an older one of the
    participant's, processed first); the error is the cause."""

    def __init__(self, message: InboundMessage) -> None:
        super().__init__(message.message_sid)
        self.message = message


Loaded = tuple[ParticipantSnapshot | None, Queue]


class EarlyComposing(Protocol):
    """Composing that begins while the replies' commit is under way (see
    `listener.processing.composing`)."""

    def start(self, replies: Iterable[OutboundReply]) -> None: ...

    def drop(self, replies: Iterable[OutboundReply]) -> None: ...


class Messages(Inbox, Conversations, Protocol):
    """The ports processing uses: the participant's snapshot and queue, and the messages
    other processes recorded."""


UNBOUNDED = 1_000_000
"""Admission for a caller that processes a message at a time (the CLI's chat, the tests)."""

SOLE_PROCESS = "this process"
"""Whose turn it is when a caller runs alone (the CLI's chat, the tests' pipeline)."""


class Processing:
    """Runs messages through the engine in their participant's order; the caller keeps
    this process's share of each participant's messages in order (its lanes)."""

    def __init__(
        self,
        settings: Settings,
        conversations: Messages,
        engine: Engine,
        transcriber: Transcriber,
        reader: Reader | None,
        threads: ThreadPoolExecutor,
        claim: Callable[[list[OutboundReply]], None],
        *,
        turns: Turns | None = None,
        queued_here: Callable[[str], bool] = lambda _: False,
        admission: Admission | None = None,
        composing: EarlyComposing | None = None,
    ) -> None:
        self.settings = settings
        self.conversations = conversations
        self.engine = engine
        self.transcriber = transcriber
        self.reader = reader
        self.threads = threads
        self.claim = claim
        self.turns = turns or Turns(SOLE_PROCESS, settings.turn_seconds)
        self.queued_here = queued_here
        self.admission = admission or Admission(UNBOUNDED)
        self.composing = composing
        self.failed: set[str] = set()
        """Messages the flow raised on here: retried by recovery, not before the rest."""

    async def run(self, message: InboundMessage) -> Outcome | None:
        """Process a recorded message (see `run_all`); its own outcome, None when it was
        processed already or left to another process."""
        outcomes = await self.run_all(message)
        return next((outcome for outcome in outcomes if outcome.message_sid == message.message_sid), None)

    async def run_all(self, message: InboundMessage) -> list[Outcome]:
        """Process a recorded message, after the participant's older waiting ones, and then
        what waits after it that no lane of this process holds; the outcomes committed
        (none when it was processed already, by anyone, or left to another process).
        Once admitted (see `listener.processing.admission`)."""
        async with self.admission.admitted():
            return await self._run_all(message)

    async def _run_all(self, message: InboundMessage) -> list[Outcome]:
        outcomes: list[Outcome] = []
        known = {message.message_sid: message}
        transcribed: dict[str, InboundMessage] = {}  # once each, kept across conflicts
        readings: dict[str, dict[ReadingRequest, Extraction]] = {}
        target: str | None = message.message_sid
        loaded: Loaded | None = None
        gone: set[str] = set()  # said to wait, but processed or forgotten since
        conflicts = 0
        while True:
            if loaded is None:
                loaded = await self.on_thread(self.conversations.load_queue, message.participant)
            snapshot, queue = loaded
            if target is not None and snapshot is not None and target in snapshot.recent_message_sids:
                target = None
            head = self.turns.first(queue, (self.failed | gone) - {target})
            sid = head.message_sid if head is not None else target
            if sid is None or (sid != message.message_sid and self.queued_here(sid)):
                return outcomes
            if self.turns.leave(queue, sid, _now()):
                log.info("message %s is another process's to process first", sid)
                return outcomes
            current = known.get(sid) or await self.on_thread(self.conversations.pending_message, sid)
            if current is None:
                gone.add(sid)
                loaded = None
                continue
            known[sid] = current
            try:
                if sid not in transcribed:
                    transcribed[sid] = await self._transcribed(current)
                outcome, still = await self._one(snapshot, transcribed[sid], readings.setdefault(sid, {}))
            except VersionConflict:
                conflicts += 1
                if conflicts >= MAX_CONFLICT_RETRIES:
                    raise VersionConflict(f"{message.message_sid}: gave up after {conflicts} conflicts") from None
                log.info("version conflict for %s, running again", sid)
                loaded = None
                continue
            outcomes.append(outcome)
            if sid == target:
                target = None
            loaded = (outcome.snapshot, Queue(waiting=still, turn=outcome.turn if still else None))

    async def _transcribed(self, message: InboundMessage) -> InboundMessage:
        """The message with its voice note's transcript (as it is, when it has none)."""
        try:
            async with self.admission.stepped_out():
                return await with_transcript(message, self.transcriber, self.settings)
        except (StoreError, VersionConflict):
            raise
        except Exception as exc:
            raise Failed(message) from exc

    async def _one(
        self, snapshot: ParticipantSnapshot | None, message: InboundMessage, readings: dict[ReadingRequest, Extraction]
    ) -> tuple[Outcome, list[Waiting]]:
        """One message from a snapshot just read: readings, step, commit."""
        try:
            if self.reader is not None:
                await self._read(snapshot, message, readings)
            outcome = await self.on_thread(self._step, snapshot, message, readings)
        except (StoreError, VersionConflict):
            raise
        except Exception as exc:
            raise Failed(message) from exc
        if self.composing is not None:
            self.composing.start(outcome.replies)
        try:
            return outcome, await self.on_thread(self.conversations.commit, outcome)
        except BaseException:
            if self.composing is not None:
                self.composing.drop(outcome.replies)
            raise

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
        async with self.admission.stepped_out():
            results = await asyncio.gather(*(self.reader.read(request) for request in new))
        readings.update(zip(new, results, strict=True))

    def _step(
        self,
        snapshot: ParticipantSnapshot | None,
        message: InboundMessage,
        readings: dict[ReadingRequest, Extraction],
    ) -> Outcome:
        """The step, its replies claimed, and this process's turn should more messages wait."""
        outcome = self.engine.step(snapshot, message, readings)
        self.claim(outcome.replies)
        outcome.turn = self.turns.mine(_now())
        return outcome

    async def on_thread(self, function: Callable[..., T], *args: object) -> T:
        """Store work (and the microseconds of the step) on the processing threads, in
        the caller's logging context; never on the threads the webhook records with."""
        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.threads, context.run, function, *args)


def _now() -> datetime:
    return datetime.now(timezone.utc)
