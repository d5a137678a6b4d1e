"""How an event is going: participants per state, completions, messages, failed sends.

Read in three streams (snapshots, interactions, failed replies), each a page at a time,
so counting a large event holds only the counters. State names come from the data, so
the figures follow whatever graph the deployment runs.
"""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel, Field

from listener.models import Interaction
from listener.store.base import Store

FAILED_SEND_STATUSES = ("failed", "undelivered")


class EventStats(BaseModel):
    """The figures for one event (or, with `event_id` None, for the whole deployment).

    `by_state` counts participants whose current event this is by the state they are in;
    `in_other_event` those who joined it but are now in another event.
    """

    event_id: str | None
    participants: int = 0
    by_state: dict[str, int] = Field(default_factory=dict)
    in_other_event: int = 0
    completed: int = 0
    messages_in: int = 0
    messages_out: int = 0
    voice_notes: int = 0
    failed_sends: int = 0


def _is_voice_note(interaction: Interaction) -> bool:
    return interaction.direction == "in" and any(media.is_audio for media in interaction.media)


def collect_stats(store: Store, event_id: str | None = None) -> EventStats:
    """Count one event's figures, or every participant's and message's when `event_id` is None."""
    stats = EventStats(event_id=event_id)
    key = event_id.casefold() if event_id else None
    states: Counter[str] = Counter()
    for snapshot in store.iter_participants():
        if key is None:
            stats.participants += 1
            states[snapshot.state] += 1
            stats.completed += any(membership.completed for membership in snapshot.events.values())
            continue
        membership = next((m for joined, m in snapshot.events.items() if joined.casefold() == key), None)
        if membership is None:
            continue
        stats.participants += 1
        stats.completed += membership.completed
        if (snapshot.current_event_id or "").casefold() == key:
            states[snapshot.state] += 1
        else:
            stats.in_other_event += 1
    stats.by_state = dict(sorted(states.items()))
    failed = {reply.id for reply in store.iter_replies(FAILED_SEND_STATUSES)}
    for interaction in store.iter_interactions(event_id):
        if interaction.direction == "in":
            stats.messages_in += 1
            stats.voice_notes += _is_voice_note(interaction)
        else:
            stats.messages_out += 1
            stats.failed_sends += interaction.id in failed
    return stats
