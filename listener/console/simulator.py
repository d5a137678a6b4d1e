"""The designer's simulator: one fictional participant talking to the real engine.

Messages take WhatsApp's path (inbox, worker lane, engine, one commit, outbox, a sender),
but into a store of their own, in memory: simulated participants never reach the
deployment's records or its exports. The deployment's events are copied in before each
message, so the simulator joins whatever events the organisers have set up. The clock
can be moved forward (the engine reads a message's arrival time, so "+25 h" is how a
designer reaches the prompts that follow a long silence), a voice note is sent as its
transcript, and the flow file can be read again so an edited graph is played at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Literal

from listener.ai.transcription import UnavailableTranscriber
from listener.config import Settings
from listener.conversation.engine import Engine
from listener.conversation.flow import Flow
from listener.conversation.graph import Graph
from listener.models import InboundMessage, Media
from listener.processing.delivery import Delivery, RetryPolicy
from listener.processing.worker import Worker
from listener.runtime import build_services
from listener.store.base import Store
from listener.store.sqlite import SQLiteStore

log = logging.getLogger(__name__)

FIRST_NUMBER = 15550100001
"""Simulated participants get fictional numbers from +1 555 010 0001 up."""
SETTLE_SECONDS = 10.0
VOICE_NOTE = Media(url="simulated:voice-note", content_type="audio/ogg")


@dataclass
class ChatLine:
    """One bubble of the simulated chat."""

    speaker: Literal["you", "bot"]
    text: str
    at: datetime
    voice: bool = False


class SimulatedSender:
    """A `Sender` that hands replies to the simulator's chat instead of to WhatsApp."""

    def __init__(self, lines: list[ChatLine], clock: SimulatedClock) -> None:
        self.lines = lines
        self.clock = clock

    async def send(self, to: str, text: str) -> str | None:
        self.lines.append(ChatLine("bot", text, self.clock.now()))
        return f"SIM{uuid.uuid4().hex[:29]}"

    async def close(self) -> None:
        return None


@dataclass
class SimulatedClock:
    """Real time plus however far the designer has moved it."""

    offset: timedelta = field(default_factory=timedelta)

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset


@dataclass
class SimulatorView:
    """What the simulator page shows."""

    participant: str
    state: str
    lines: list[ChatLine]
    clock: datetime
    graph: Graph


class Simulator:
    """One simulated participant (replaced by a fresh one on "start over")."""

    def __init__(self, settings: Settings, source: Store) -> None:
        self.settings = settings
        self.source = source
        self.store = SQLiteStore(":memory:")
        self.clock = SimulatedClock()
        self.lines: list[ChatLine] = []
        self.number = FIRST_NUMBER
        self.flow: Flow | None = None
        self.worker: Worker | None = None
        self._lock = asyncio.Lock()

    @property
    def participant(self) -> str:
        return f"+{self.number}"

    async def _ensure_started(self) -> Worker:
        if self.worker is None:
            await self._load_flow()
        assert self.worker is not None
        return self.worker

    async def _load_flow(self) -> None:
        """Read the flow file (raising `FlowError` when it is wrong) and start a worker on it."""
        flow = await asyncio.to_thread(Flow.from_file, self.settings.flow_file)
        if self.worker is not None:
            await self.worker.stop()
        services = build_services(self.settings, self.store, flow)
        engine = Engine(flow, self.store, services)
        sender = SimulatedSender(self.lines, self.clock)
        delivery = Delivery(self.store, sender, RetryPolicy.from_settings(self.settings))
        self.flow = flow
        self.worker = Worker(self.settings, self.store, engine, UnavailableTranscriber(), delivery)
        self.worker.start()

    def _copy_events(self) -> None:
        """The deployment's events as they are now (added, changed or deleted since)."""
        events = {event.event_id.casefold(): event for event in self.source.list_events()}
        for known in self.store.list_events():
            if known.event_id.casefold() not in events:
                self.store.delete_event(known.event_id)
        for event in events.values():
            self.store.put_event(event)

    async def send(self, text: str, voice: bool = False) -> None:
        """Send a message (or a voice note with this transcript) and wait for its replies."""
        async with self._lock:
            worker = await self._ensure_started()
            await asyncio.to_thread(self._copy_events)
            sid = f"SMsim{uuid.uuid4().hex[:27]}"
            self.lines.append(ChatLine("you", text, self.clock.now(), voice=voice))

            message = InboundMessage(
                message_sid=sid,
                participant=self.participant,
                body="" if voice else text,
                transcript=text if voice else None,
                media=[VOICE_NOTE] if voice else [],
                received_at=self.clock.now(),
            )
            # The inbox, then the worker, as the webhook's arrival does (one user at a time).
            if await asyncio.to_thread(self.store.record_inbound, message):
                worker.submit(message)
            await self._settle(sid)

    async def _settle(self, sid: str) -> None:
        """Wait until the message is processed and its replies sent (or give up quietly:
        the page polls and shows late replies)."""
        deadline = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline:
            done = await asyncio.to_thread(self.store.inbound_status, sid) == "done"
            if done and not await asyncio.to_thread(self._replies_owed):
                return
            await asyncio.sleep(0.02)
        log.warning("simulated message %s not settled after %gs", sid, SETTLE_SECONDS)

    def _replies_owed(self) -> bool:
        return any(
            reply.participant == self.participant for reply in self.store.iter_replies(("pending", "sending"))
        )

    def advance(self, hours: float) -> None:
        self.clock.offset += timedelta(hours=hours)

    async def reload(self) -> None:
        """Read the flow file again; a participant resting in a state the new graph lacks
        starts over. Raises `FlowError` (and keeps the old flow) when the file is wrong."""
        async with self._lock:
            await self._load_flow()
            assert self.flow is not None
            snapshot = await asyncio.to_thread(self.store.load_participant, self.participant)
            if snapshot is not None and snapshot.state not in self.flow.graph.states:
                self._start_over()

    async def start_over(self) -> None:
        async with self._lock:
            self._start_over()

    def _start_over(self) -> None:
        """A new participant number, an empty chat and the real time again."""
        self.number += 1
        self.lines.clear()
        self.clock.offset = timedelta()

    async def view(self) -> SimulatorView:
        async with self._lock:
            await self._ensure_started()
        assert self.flow is not None
        snapshot = await asyncio.to_thread(self.store.load_participant, self.participant)
        state = snapshot.state if snapshot is not None else self.flow.spec.initial
        return SimulatorView(self.participant, state, list(self.lines), self.clock.now(), self.flow.graph)

    async def close(self) -> None:
        if self.worker is not None:
            await self.worker.stop()
        self.store.close()
