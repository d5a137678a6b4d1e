"""What the console pages show, read from the store with the operators' streaming readers.

Counts come from `listener.operators.stats` (the figures `listener stats` prints); only "messages
in the last hour", the participants table and the feed are read here. Numbers are always
masked; message texts are shown to the organiser but never logged.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from pydantic import BaseModel

from listener.conversation.graph import Graph
from listener.masking import mask_phone
from listener.models import EventConfig, Interaction
from listener.operators.stats import EventStats, collect_stats
from listener.store.base import Store

PARTICIPANT_ROWS = 500
FEED_ITEMS = 50
ARROW = re.compile(r"^\s+(?P<source>\S+) --> (?P<dest>\S+): (?P<label>.+)$")
PROFILE_FIELDS = {
    "event_id", "participant", "joined_at", "last_active_at", "welcomed", "completed", "completed_at", "messages",
    "name",
}


class EventSummary(BaseModel):
    event: EventConfig
    stats: EventStats
    messages_last_hour: int


class ParticipantRow(BaseModel):
    number: str
    name: str | None
    answers: dict[str, str]
    state: str
    last_message_at: datetime | None


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


def _answers(profile: dict) -> dict[str, str]:
    """Every answer but the name, as text, without the raw words kept beside each."""
    return {
        key: str(value)
        for key, value in profile.items()
        if key not in PROFILE_FIELDS and not key.endswith("_raw") and value is not None
    }


def participant_rows(store: Store, event_id: str, limit: int = PARTICIPANT_ROWS) -> list[ParticipantRow]:
    """The first `limit` participants of an event with the state they are in now
    ("in another event" when they have moved on)."""
    profiles: dict[str, dict] = {}
    for profile in store.iter_profiles(event_id):
        profiles[profile["participant"]] = profile
        if len(profiles) >= limit:
            break
    states: dict[str, str] = {}
    for snapshot in store.iter_participants():
        if snapshot.participant in profiles:
            here = (snapshot.current_event_id or "").casefold() == event_id.casefold()
            states[snapshot.participant] = snapshot.state if here else "(in another event)"
    return [
        ParticipantRow(
            number=mask_phone(number),
            name=profile.get("name"),
            answers=_answers(profile),
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


def merge_arrows(diagram: str) -> str:
    """One arrow per pair of states, its labels joined: the commands every state accepts
    otherwise draw a dozen parallel arrows too small to read on a screen."""
    labels: dict[tuple[str, str], list[str]] = {}
    head: list[str] = []
    for line in diagram.splitlines():
        match = ARROW.match(line)
        if match is None:
            head.append(line)
            continue
        pair = (match["source"], match["dest"])
        if match["label"] not in labels.setdefault(pair, []):
            labels[pair].append(match["label"])
    arrows = [f"    {source} --> {dest}: {', '.join(names)}" for (source, dest), names in labels.items()]
    return "\n".join(head + arrows) + "\n"


def diagram_source(diagram: str, counts: list[tuple[str, int]], current: str | None = None) -> str:
    """The Mermaid diagram with merged arrows, each state's count, and `current` marked."""
    lines = [merge_arrows(diagram).rstrip("\n")]
    lines += [f"    {name} : {count} here" for name, count in counts if count]
    if current is not None:
        lines += ["    classDef current fill:#ffd84d,stroke:#1a1a1a,stroke-width:3px", f"    class {current} current"]
    return "\n".join(lines) + "\n"
