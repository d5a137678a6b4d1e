"""Resolving a send whose outcome is unknown: is this reply already in Twilio's log?

A request that timed out, lost its connection after it went out, or got a 5xx may have
created the message all the same, and Twilio's API takes no idempotency key. So before
such a reply is sent again, the participant's recent messages in Twilio's log are read
and matched against it:

1. a message with this part's text, else,
2. for a reply the model composes (its text is written after the commit, and written
   anew after a crash, so the text sent before may differ), the earliest message to the
   participant created since the reply was,

in both cases only a message that is not already another reply's: not its recorded SID,
not one of its texts. A template reply's text is known exactly, so only its text matches
(a message someone else sent the participant from the same number is not taken for it).
Such a message is recorded as this reply's; none means it was never created, and the
reply is sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from listener.channel.sender import SentMessage, split_text
from listener.models import OutboundReply
from listener.store.ports import Outbox

# Written at the start of `OutboundReply.error` while a send's outcome is unknown, so the
# next attempt (by any process) looks before it sends.
UNKNOWN_OUTCOME = "outcome unknown"
# Twilio's times are whole seconds from another clock.
CLOCK_SKEW = timedelta(seconds=2)
# How far back the participant's other replies are read: one created earlier but sent
# after this one was created must be recognised as theirs.
RECORDED_LOOKBACK = timedelta(hours=24)


@dataclass
class Recorded:
    """What the store says the participant's other replies went out as."""

    sids: set[str] = field(default_factory=set)
    texts: set[str] = field(default_factory=set)


def normalised(text: str) -> str:
    return " ".join(text.split())


def search_start(reply: OutboundReply) -> datetime:
    """The earliest creation time at Twilio a message for this reply can show."""
    return reply.created_at.replace(microsecond=0) - CLOCK_SKEW


def recorded_elsewhere(outbox: Outbox, reply: OutboundReply) -> Recorded:
    """The SIDs and part texts of the participant's other replies of the last day: one
    query, however many there are."""
    recorded = Recorded()
    for other in outbox.replies_for(reply.participant, reply.created_at - RECORDED_LOOKBACK):
        if other.id == reply.id:
            continue
        if other.provider_sid:
            recorded.sids.add(other.provider_sid)
        recorded.texts.update(normalised(part) for part in split_text(other.text))
    return recorded


def find_part(
    text: str, messages: Iterable[SentMessage], recorded: Recorded, composed: bool
) -> SentMessage | None:
    """The message in the log that is this part of the reply, or None."""
    free = sorted((m for m in messages if m.sid not in recorded.sids), key=lambda m: m.created_at)
    wanted = normalised(text)
    same_text = [m for m in free if normalised(m.body) == wanted]
    if same_text or not composed:
        return same_text[0] if same_text else None
    unexplained = [m for m in free if normalised(m.body) not in recorded.texts]
    return unexplained[0] if unexplained else None


def outcome_unknown(error: str | None) -> bool:
    return bool(error) and error.startswith(UNKNOWN_OUTCOME)
