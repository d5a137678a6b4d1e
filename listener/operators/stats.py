"""How an event is going: participants per state, completions, messages, failed sends,
and how long Twilio's queue makes a reply wait.

Read in streams (snapshots, interactions, replies), each a page at a time, so counting a
large event holds only the counters. State names come from the data, so the figures
follow whatever graph the deployment runs.

Twilio queues what is handed to it beyond the WhatsApp sender's throughput (`TWILIO_MPS`
messages per second) and sends it at that pace. The queue is estimated from the outbox:
the replies Twilio accepted in the last four hours (its queue's limit), each counted at
the time it accepted it (`sent_at`), read through an index that returns only those (the
console polls this every few seconds), drained at `TWILIO_MPS`. What is left, divided by the rate, is how long a reply
handed over now waits. It is the sender's queue, shared by every event.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

from pydantic import BaseModel, Field

from listener.models import Interaction
from listener.store.ports import Records

FAILED_SEND_STATUSES = ("failed", "undelivered")
# Replies Twilio accepted: everything with its SID after the claim (`sending`) is over.
HANDED_OVER_STATUSES = ("sent", "delivered", "read", "failed", "undelivered")
# Twilio keeps a message queued for at most four hours.
QUEUE_HORIZON = timedelta(hours=4)


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
    # seconds a reply handed to Twilio now waits in its queue (estimated; None: not asked)
    twilio_queue_seconds: float | None = None


def _is_voice_note(interaction: Interaction) -> bool:
    return interaction.direction == "in" and any(media.is_audio for media in interaction.media)


def queue_wait(handed_over: Iterable[datetime], mps: float, now: datetime) -> float:
    """Seconds Twilio's queue needs for what it holds at `now`: each message handed over
    adds one, the queue drains `mps` a second and never below empty."""
    backlog = 0.0
    last: datetime | None = None
    for moment in sorted(handed_over):
        if last is not None:
            backlog = max(0.0, backlog - mps * (moment - last).total_seconds())
        backlog += 1
        last = moment
    if last is None:
        return 0.0
    return max(0.0, backlog - mps * (now - last).total_seconds()) / mps


def twilio_queue_seconds(store: Records, mps: float, now: datetime | None = None) -> float:
    """The queue's wait now, from the replies Twilio accepted within its queue's limit."""
    now = now or datetime.now(timezone.utc)
    since = now - QUEUE_HORIZON
    handed_over = (
        reply.sent_at
        for reply in store.iter_replies(HANDED_OVER_STATUSES, since=since)
        if reply.provider_sid and reply.sent_at is not None
    )
    return round(queue_wait(handed_over, mps, now), 1)


def collect_stats(store: Records, event_id: str | None = None, mps: float | None = None) -> EventStats:
    """Count one event's figures, or every participant's and message's when `event_id` is
    None; with the sender's `mps`, estimate Twilio's queue too."""
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
    if mps is not None:
        stats.twilio_queue_seconds = twilio_queue_seconds(store, mps)
    return stats
