"""The model bound to the machine for one message: what behaviour reads and writes.

A `Turn` carries the inbound message, a working copy of the participant's snapshot and the
services (extraction, replies, event lookup). Guards and actions in `states/` read it and
record effects on it: replies to send, interactions to file, snapshot changes. Nothing here
writes to the store or sends; the engine commits the result in one step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from listener.conversation.values import answer_value
from listener.models import (
    ComposeRequest,
    EventConfig,
    InboundMessage,
    Interaction,
    Membership,
    OutboundReply,
    ParticipantSnapshot,
)

if TYPE_CHECKING:
    from listener.conversation.events import EventDirectory
    from listener.conversation.extraction import Extractor
    from listener.conversation.flow import Flow
    from listener.conversation.graph import StateSpec


def inbound_record(
    message: InboundMessage, kind: str, event_id: str | None, state: str, language: str | None = None
) -> Interaction:
    """The stored record of an inbound message, filed under `event_id` as `kind`, written in `language`."""
    return Interaction(
        id=message.message_sid,
        participant=message.participant,
        event_id=event_id,
        direction="in",
        kind=kind,
        text=(message.body or "").strip(),
        transcript=message.transcript,
        transcription_model=message.transcription_model,
        transcript_language=message.transcript_language,
        language=language,
        media=message.media,
        state=state,
        at=message.received_at,
    )


class LanguageIdentifier(Protocol):
    def identify(self, text: str) -> str | None:
        """The language (a tag the flow ships) the words are clearly written in; None for
        words too short or too ambiguous to tell ("ok", "34", a name, an event ID)."""


@dataclass
class Services:
    """What behaviour may consult while deciding: all of it read-only or pure. The
    extractor answers from readings made before the step, else by the offline rules;
    `languages` tells which language a message is written in, offline."""

    extractor: Extractor
    events: EventDirectory
    languages: LanguageIdentifier


class TemplateValues(dict):
    """Values for `{placeholders}` in texts, computed only when a text asks for them: a
    registered value, else the participant's answer to the question of that key."""

    def __init__(self, turn: Turn) -> None:
        super().__init__()
        self.turn = turn

    def __missing__(self, key: str) -> Any:
        provider = self.turn.flow.template_values.get(key)
        if provider is not None:
            value = provider(self.turn)
        elif key in self.turn.flow.graph.questions:
            value = answer_value(self.turn, key)
        else:
            raise KeyError(key)
        self[key] = value
        return value


class Turn:
    """One participant, one message. `state` is set by the `transitions` machine."""

    state: str

    def __init__(
        self,
        flow: Flow,
        services: Services,
        snapshot: ParticipantSnapshot,
        message: InboundMessage,
    ) -> None:
        self.flow = flow
        self.services = services
        self.snapshot = snapshot
        self.message = message
        self.state = snapshot.state
        self.arrived_in = snapshot.state
        self.argument = ""
        self.trigger = ""
        self.command: str | None = None
        self.message_language: str | None = None
        self.replies: list[OutboundReply] = []
        self.outbound: list[Interaction] = []
        self.filed: list[Interaction] = []
        self.inbound_parked = False
        self.inbound_kind: str | None = None
        self.touched: set[str] = set()
        self.trace: list[str] = []
        self.memo: dict[str, Any] = {}

    # what arrived ------------------------------------------------------------------------

    @property
    def text(self) -> str:
        return self.message.text

    @property
    def now(self) -> datetime:
        return self.message.received_at

    @property
    def arrival(self) -> StateSpec:
        """The state the message arrived in (guards and `before` actions run from it)."""
        return self.flow.graph.states[self.arrived_in]

    @property
    def spec(self) -> StateSpec:
        """The state the participant is in now."""
        return self.flow.graph.states[self.state]

    def remember(self, key: str, compute: Callable[[], Any]) -> Any:
        """Compute a value once per message (a guard and its action share one extraction)."""
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]

    # the participant's events ------------------------------------------------------------

    @property
    def event(self) -> EventConfig | None:
        """The current event's configuration, or None when there is none or it is gone."""
        event_id = self.snapshot.current_event_id
        return self.services.events.get(event_id) if event_id else None

    @property
    def membership(self) -> Membership | None:
        return self.snapshot.current_membership

    def touch(self, event_id: str) -> None:
        """Mark an event's profile as changed so the commit writes it."""
        self.touched.add(event_id)

    @property
    def language(self) -> str:
        """The language spoken to the participant now: theirs where the current event
        lists it, else the event's default (before any event, the flow's)."""
        return self.flow.speaks(self.snapshot.language, self.event)

    @property
    def max_attempts(self) -> int:
        return self.arrival.max_attempts or self.flow.graph.spec.settings.max_attempts

    # effects -----------------------------------------------------------------------------

    def say(self, key: str) -> None:
        """Queue the text the graph calls `key`, filled with this turn's values."""
        self.say_text(self.render(key))

    def render(self, key: str) -> str:
        return self.flow.render(key, self.event, TemplateValues(self), self.rotation, self.language)

    @property
    def rotation(self) -> int:
        membership = self.membership
        return membership.messages if membership else 0

    def say_text(self, text: str, compose: ComposeRequest | None = None) -> None:
        """Queue `text`; with `compose`, the composer may write it anew (sent after the commit)
        (`text` is what goes out when it cannot)."""
        text = text.strip()
        if not text:
            return
        reply_id = f"{self.message.message_sid}-r{len(self.replies) + 1}"
        self.replies.append(
            OutboundReply(
                id=reply_id,
                participant=self.snapshot.participant,
                text=text,
                in_reply_to=self.message.message_sid,
                created_at=self.now,
                event_id=self.snapshot.current_event_id,
                compose=compose,
            )
        )
        self.outbound.append(
            Interaction(
                id=reply_id,
                participant=self.snapshot.participant,
                event_id=self.snapshot.current_event_id,
                direction="out",
                kind="reply",
                text=text,
                language=self.language,
                state=self.state,
                at=self.now,
            )
        )

    def inbound_interaction(self, kind: str, event_id: str | None) -> Interaction:
        """The inbound record, in the language its words showed (else the participant's),
        with what the message fired so far (a parked message keeps the transition that
        parked it)."""
        record = inbound_record(self.message, kind, event_id, self.arrived_in, self.message_language or self.language)
        record.transitions = list(self.trace)
        return record

    def record_inbound_as(self, kind: str) -> None:
        """File this message under another kind than its state's (`records:`) says."""
        self.inbound_kind = kind

    def park_inbound(self, key: str) -> None:
        """Hold this message in the snapshot until the flow decides where it belongs."""
        self.snapshot.pending[key] = self.inbound_interaction(self.arrival.records, None).model_dump(mode="json")
        self.inbound_parked = True

    def file_parked(self, key: str, event_id: str | None) -> None:
        """File a parked message under the event the flow settled on."""
        parked = self.snapshot.pending.pop(key, None)
        if parked is None:
            return
        interaction = Interaction.model_validate(parked)
        interaction.event_id = event_id
        self.filed.append(interaction)
        if event_id is not None and event_id in self.snapshot.events:
            membership = self.snapshot.events[event_id]
            membership.messages += 1
            self.touch(event_id)
