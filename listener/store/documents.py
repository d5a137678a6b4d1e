"""Document shapes shared by every store, so SQLite and Firestore hold the same fields."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

from listener.models import Membership

FORGOTTEN = "forgotten"
"""The status of a tombstone: the inbox item of a participant who was forgotten."""


def inbox_key(message_sid: str) -> str:
    """The key an inbox item is kept under, and its tombstone after a forget: a SHA-256 of
    the MessageSid, so a tombstone holds no identifier Twilio's logs could be searched by."""
    return hashlib.sha256(message_sid.encode()).hexdigest()


def event_key(event_id: str) -> str:
    """Event IDs are matched without regard to case; the key is their folded form."""
    return event_id.casefold()


def sortable_time(moment: datetime) -> str:
    """A time as the text both stores compare in queries (`received_at < cutoff`): UTC in
    ISO 8601 with `+00:00`, whose text order is time order. Pydantic's JSON form ends in
    `Z` and drops a zero fraction, so `09:00:00Z` sorts after `09:00:00.5Z`: fields a query
    compares are written in this form instead (a model reads either)."""
    return moment.astimezone(timezone.utc).isoformat()


def profile_document(event_id: str, participant: str, membership: Membership) -> dict:
    """The `AOI_{event_id}/{participant}` document: each answer flat, raw words beside it.

    Flat `name`, `age`, `gender`, `region` fields keep the original tools' readers working.
    """
    document: dict = {
        "event_id": event_id,
        "participant": participant,
        "joined_at": membership.joined_at.isoformat(),
        "last_active_at": membership.last_active_at.isoformat(),
        "welcomed": membership.welcomed,
        "completed": membership.completed,
        "completed_at": membership.completed_at.isoformat() if membership.completed_at else None,
        "messages": membership.messages,
        "contributions": membership.contributions,
    }
    for field, answer in membership.answers.items():
        document[field] = answer.value
        document[f"{field}_raw"] = answer.raw
    return document
