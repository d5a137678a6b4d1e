"""What the console pages show, read from the store with the operators' streaming readers.

Counts come from `listener.operators.stats` (the figures `listener stats` prints); only "messages
in the last hour", the participants table and the feed are read here. Numbers are always
masked; message texts are shown to the organiser but never logged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

from pydantic import BaseModel

from listener.conversation.graph import Graph
from listener.conversation.questions import Question
from listener.diagram.model import Drawing, trace_key
from listener.masking import mask_phone
from listener.models import EventConfig, Interaction
from listener.operators.stats import EventStats, collect_stats
from listener.store.base import Store

PARTICIPANT_ROWS = 500
FEED_ITEMS = 50
FIRED_WINDOW = timedelta(hours=24)
"""The flow page counts the transitions fired this long back (a bounded read of the store)."""
class EventSummary(BaseModel):
    event: EventConfig
    stats: EventStats
    messages_last_hour: int


class ParticipantRow(BaseModel):
    """One participant as the event page lists them: an answer per column of
    `asked_questions`, blank where they have not answered (yet)."""

    number: str
    answers: dict[str, str]
    state: str
    last_message_at: datetime | None


class ArrowRow(BaseModel):
    """One transition or route of the diagram, with how often it fired in the window."""

    source: str
    dest: str
    words: str
    fired: int


class FeedItem(BaseModel):
    id: str
    at: datetime
    participant: str
    kind: str
    text: str


def messages_since(store: Store, event_id: str, since: datetime) -> int:
    return sum(1 for item in store.iter_interactions(event_id, since=since) if item.direction == "in")


def summarise(store: Store, event: EventConfig, now: datetime | None = None, mps: float | None = None) -> EventSummary:
    """The event's figures; with the sender's `mps`, Twilio's queue too (the event page)."""
    now = now or datetime.now(timezone.utc)
    return EventSummary(
        event=event,
        stats=collect_stats(store, event.event_id, mps=mps),
        messages_last_hour=messages_since(store, event.event_id, now - timedelta(hours=1)),
    )


def event_summaries(store: Store) -> list[EventSummary]:
    return [summarise(store, event) for event in sorted(store.list_events(), key=lambda e: e.event_id.casefold())]


def asked_questions(questions: Sequence[Question], event: EventConfig) -> list[Question]:
    """The flow's questions this event asks, in the flow's order: the participants
    table's columns (a question added to `transitions.yaml` is a column with no code)."""
    return [q for q in questions if event.extraction_settings.enabled(q.key, q.asked_by_default)]


def _answer_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def participant_rows(
    store: Store, event: EventConfig, questions: Sequence[Question], limit: int = PARTICIPANT_ROWS
) -> list[ParticipantRow]:
    """The first `limit` participants of an event with their answers to `questions` and
    the state they are in now ("in another event" when they have moved on)."""
    profiles: dict[str, dict] = {}
    for profile in store.iter_profiles(event.event_id):
        profiles[profile["participant"]] = profile
        if len(profiles) >= limit:
            break
    states: dict[str, str] = {}
    for snapshot in store.iter_participants():
        if snapshot.participant in profiles:
            here = (snapshot.current_event_id or "").casefold() == event.event_id.casefold()
            states[snapshot.participant] = snapshot.state if here else "(in another event)"
    return [
        ParticipantRow(
            number=mask_phone(number),
            answers={question.key: _answer_text(profile.get(question.key)) for question in questions},
            state=states.get(number, "-"),
            last_message_at=profile.get("last_active_at"),
        )
        for number, profile in profiles.items()
    ]


def _feed_text(interaction: Interaction) -> str:
    words = interaction.text or interaction.transcript or ""
    if any(media.is_audio for media in interaction.media):
        return f"(voice note) {words}".strip()
    if interaction.media:
        return f"(attachment) {words}".strip()
    return words


def feed(store: Store, event_id: str, since: datetime, limit: int = FEED_ITEMS) -> list[FeedItem]:
    """The latest messages participants sent to this event, newest last."""
    items = [
        FeedItem(
            id=item.id,
            at=item.at,
            participant=mask_phone(item.participant),
            kind=item.kind,
            text=_feed_text(item),
        )
        for item in store.iter_interactions(event_id, since=since)
        if item.direction == "in"
    ]
    return items[-limit:]


def state_counts(graph: Graph, stats: EventStats) -> list[tuple[str, int]]:
    """Every state of the graph in its order, with how many participants rest there."""
    return [(name, stats.by_state.get(name, 0)) for name in graph.states]


def fired_counts(store: Store, since: datetime) -> dict[str, int]:
    """How often each transition and route fired since `since`: the trace kept on each
    inbound record (`Interaction.transitions`), counted per transition (`transitions[12]`,
    whichever member of a group it left from) and per route (`routing.routes[3]`)."""
    counts: Counter[str] = Counter()
    for item in store.iter_interactions(since=since):
        if item.direction == "in":
            counts.update(trace_key(label) for label in item.transitions)
    return dict(counts)


def arrow_rows(picture: Drawing, fired: dict[str, int]) -> list[ArrowRow]:
    """The diagram's arrows as table rows, one per transition or route, in drawing order."""
    return [
        ArrowRow(source=edge.source, dest=edge.dest, words=label.text, fired=sum(fired.get(key, 0) for key in label.keys))
        for edge in picture.edges
        for label in edge.labels
    ]
