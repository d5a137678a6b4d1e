"""Drive the real engine the way the webhook does, with a clock the test controls.

`Conversation` records each message in the inbox, runs it through `Engine.process` (or,
with a `Pipeline`, through the worker's processing and composing, where the model reads
answers before the step and writes replies after the commit), and returns the replies it
owes; tests then look at the store as the product would.
"""

from __future__ import annotations

import asyncio
import itertools
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml

from listener.ai.language_id import LangidIdentifier
from listener.ai.rules import RuleExtractor
from listener.conversation.engine import Engine
from listener.conversation.events import EventDirectory
from listener.conversation.flow import Flow
from listener.conversation.questions import Question
from listener.conversation.turn import Services
from listener.models import EventConfig, InboundMessage, Media, OutboundReply, Outcome
from listener.processing.processing import Processing
from listener.runtime import Runtime
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


def shipped_questions() -> dict[str, Question]:
    """The shipped flow's declared questions, by key."""
    return shipped_flow().graph.questions


NOT_UNDERSTOOD = "???"
"""An answer no question's reader understands, whatever its type."""

EVERY_QUESTION = "ALLQ"
"""The event that `asking_every_question_event()` makes: it asks every declared question."""


def sample_answer(question: Question) -> str:
    """An answer a participant might give that the question's reader understands."""
    if question.type == "number":
        return str(question.min + (question.max - question.min) // 3)
    if question.type == "choice":
        return next(iter(question.options))
    if question.type == "yes_no":
        return "yes"
    return {"name": "Alex", "place": "Bristol"}.get(question.shape, "some words of an answer")


def asking_every_question_event(flow: Flow | None = None) -> EventConfig:
    """An event that turns on every question the flow declares (so a question a designer
    adds is asked in the path and property tests without editing them)."""
    questions = (flow or shipped_flow()).spec.questions
    return EventConfig.model_validate({
        "event_id": EVERY_QUESTION,
        "event_name": "Every question",
        "responses": "template",
        "extraction_settings": {f"{question.key}_extraction": True for question in questions},
    })


def fixture_events() -> dict[str, EventConfig]:
    events = {}
    for path in sorted((FIXTURES / "events").glob("*.yaml")):
        event = EventConfig.model_validate(yaml.safe_load(path.read_text()))
        events[event.event_id] = event
    return events


def make_engine(store: Store, flow: Flow | None = None, extractor=None) -> Engine:
    flow = flow or shipped_flow()
    services = Services(extractor=extractor or RuleExtractor(), events=EventDirectory(store, ttl=0),
                        languages=LangidIdentifier(flow.languages))
    return Engine(flow, store, services)


class Pipeline:
    """The worker's processing and composing for one runtime, on one event loop."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.engine = runtime.engine
        self._runner = asyncio.Runner()
        self._threads = ThreadPoolExecutor(1, thread_name_prefix="pipeline")
        self.processing = Processing(
            runtime.settings, runtime.store, runtime.engine, runtime.transcriber, runtime.reader,
            self._threads, claim=lambda replies: None,
        )

    def process(self, message: InboundMessage) -> Outcome | None:
        return self._runner.run(self.processing.run(message))

    def compose(self, reply: OutboundReply) -> str:
        return self._runner.run(self.runtime.composer.compose(reply))

    def run(self, coroutine):
        return self._runner.run(coroutine)

    def close(self) -> None:
        self._runner.run(self.runtime.close_model())
        self._runner.close()
        self._threads.shutdown()


class Clock:
    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class Conversation:
    """One participant talking to the engine over one store."""

    _sids = itertools.count(1)

    def __init__(self, engine: Engine | Pipeline, participant: str = "+15550100001", clock: Clock | None = None) -> None:
        self.pipeline = engine if isinstance(engine, Pipeline) else None
        self.engine = engine.engine if isinstance(engine, Pipeline) else engine
        self.store = self.engine.store
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
        if self.pipeline is None:
            self.last = self.engine.process(message)
            return [reply.text for reply in self.last.replies] if self.last else []
        self.last = self.pipeline.process(message)
        return [self.pipeline.compose(reply) for reply in self.last.replies] if self.last else []

    def send(self, body: str = "", **kwargs) -> list[str]:
        return self.deliver(self.message(body, **kwargs))

    @property
    def snapshot(self):
        return self.store.load_participant(self.participant)

    @property
    def state(self) -> str | None:
        snapshot = self.snapshot
        return snapshot.state if snapshot else None
