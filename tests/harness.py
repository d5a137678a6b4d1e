"""Drive the real engine the way the webhook does, with a clock the test controls.

`Conversation` records each message in the inbox, runs it through `Engine.process`, and
returns the replies it owes; tests then look at the store as the product would.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml

from listener.ai.rules import RuleExtractor
from listener.conversation.engine import Engine
from listener.conversation.events import EventDirectory
from listener.conversation.flow import Flow
from listener.conversation.responding import TemplateResponder
from listener.conversation.turn import Services
from listener.models import EventConfig, InboundMessage, Media, Outcome
from listener.store.base import Store

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
_FLOW: Flow | None = None


def shipped_flow() -> Flow:
    """The shipped graph, built once per test process as the server does."""
    global _FLOW
    if _FLOW is None:
        _FLOW = Flow.from_file(ROOT / "transitions.yaml")
    return _FLOW


def fixture_events() -> dict[str, EventConfig]:
    events = {}
    for path in sorted((FIXTURES / "events").glob("*.yaml")):
        event = EventConfig.model_validate(yaml.safe_load(path.read_text()))
        events[event.event_id] = event
    return events


def make_engine(store: Store, flow: Flow | None = None, extractor=None, responder=None) -> Engine:
    services = Services(
        extractor=extractor or RuleExtractor(),
        responder=responder or TemplateResponder(),
        events=EventDirectory(store, ttl=0),
    )
    return Engine(flow or shipped_flow(), store, services)


class Clock:
    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class Conversation:
    """One participant talking to the engine over one store."""

    _sids = itertools.count(1)

    def __init__(self, engine: Engine, participant: str = "+15550100001", clock: Clock | None = None) -> None:
        self.engine = engine
        self.store = engine.store
        self.participant = participant
        self.clock = clock or Clock()
        self.last: Outcome | None = None

    def message(self, body: str = "", transcript: str | None = None, media: list[Media] | None = None,
                sid: str | None = None) -> InboundMessage:
        self.clock.advance(seconds=30)
        return InboundMessage(
            message_sid=sid or f"SM{next(self._sids):032d}",
            participant=self.participant,
            body=body,
            transcript=transcript,
            media=media or [],
            received_at=self.clock.now,
        )

    def deliver(self, message: InboundMessage) -> list[str]:
        """What the webhook and the worker do: record once, process, return replies."""
        if not self.store.record_inbound(message):
            return []
        self.last = self.engine.process(message)
        return [reply.text for reply in self.last.replies] if self.last else []

    def send(self, body: str = "", **kwargs) -> list[str]:
        return self.deliver(self.message(body, **kwargs))

    @property
    def snapshot(self):
        return self.store.load_participant(self.participant)

    @property
    def state(self) -> str | None:
        snapshot = self.snapshot
        return snapshot.state if snapshot else None
