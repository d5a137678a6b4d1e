"""The `Store` contract: everything the engine, the webhook and the operators persist.

Two implementations keep it: SQLite (the embedded default) and Firestore (production).
Both pass one contract suite (`tests/test_store_contract.py`). The methods are
synchronous: the engine runs one participant's message in a worker thread, so a slow
store never blocks the webhook's event loop.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from listener.models import (
    EventConfig,
    InboundMessage,
    InboxStatus,
    Interaction,
    OutboundReply,
    Outcome,
    ParticipantSnapshot,
    ReplyStatus,
)
from listener.operators.privacy import BlockedNumber


class VersionConflict(Exception):
    """Another worker committed for this participant first: reload and run again."""


class StoreError(Exception):
    """Storage trouble: the store could not be opened, did not answer, or refused the call.

    Every store method raises this (or `StoreUnavailable`) instead of its driver's own
    errors, so a caller can tell trouble with the store from a flaw in what it was given:
    the message being handled is not at fault, and the same call may be tried again later.
    """


class StoreUnavailable(StoreError):
    """Transient storage trouble: the store is locked, busy, full, unreachable or past its
    deadline (`STORE_TIMEOUT_SECONDS`). Trying again later is expected to work."""


@runtime_checkable
class Store(Protocol):
    """Persistence for one deployment. Every method is safe to call from several threads."""

    # inbox: every inbound message, keyed by MessageSid
    def record_inbound(self, message: InboundMessage) -> bool:
        """Record a delivery; False when this MessageSid was already recorded."""

    def inbound_status(self, message_sid: str) -> InboxStatus | None: ...

    def pending_inbound(self, received_before: datetime, limit: int = 100) -> list[InboundMessage]:
        """Recorded before `received_before` but not yet processed, oldest first (resumed
        after a crash); one indexed query that reads only what it returns."""

    def record_failed_attempt(self, message_sid: str, error: str) -> int:
        """Count one failed try at processing a pending inbox item, on the item itself (so
        every process sees one count), keeping `error` as its last error; the new count.
        0 when no pending item has that MessageSid (never recorded, done, or forgotten)."""

    # the conversation snapshot
    def load_participant(self, participant: str) -> ParticipantSnapshot | None: ...

    def commit(self, outcome: Outcome) -> None:
        """Apply one message's outcome atomically.

        Writes the snapshot (only if its stored version is still
        `outcome.expected_version`, raising `VersionConflict` otherwise), the profiles of
        the touched events, the interactions, the outbox replies, and marks the inbox item
        done. All of it or none of it.
        """

    # events
    def put_event(self, event: EventConfig) -> None: ...

    def get_event(self, event_id: str) -> EventConfig | None:
        """Case-insensitive lookup by event ID."""

    def list_events(self) -> list[EventConfig]: ...

    def delete_event(self, event_id: str) -> bool: ...

    # per-event participant profiles (projections of the snapshot's memberships)
    def get_profile(self, event_id: str, participant: str) -> dict | None: ...

    # interactions
    def iter_interactions(
        self,
        event_id: str | None = None,
        participant: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Iterator[Interaction]:
        """Stream interactions in the order they were committed."""

    def save_transcript(
        self, interaction_id: str, text: str, model: str | None, language: str | None
    ) -> bool:
        """Fill in a voice note's transcript later (`listener transcribe --pending`)."""

    # outbox
    def pending_replies(self, now: datetime, limit: int = 100) -> list[OutboundReply]:
        """Replies not yet sent that no sender holds: pending, or `sending` with a claim
        that ended before `now` (its sender crashed or hung), in the order they were
        committed. Indexed queries: replies held right now are not read."""

    def update_reply(
        self,
        reply_id: str,
        status: ReplyStatus,
        provider_sid: str | None = None,
        error: str | None = None,
        composed: OutboundReply | None = None,
    ) -> None:
        """Record a send's result in one write. `composed` is the reply as the composer
        wrote it: its text replaces the stored one, on the reply and on its interaction."""

    def get_reply(self, reply_id: str) -> OutboundReply | None: ...

    def claim_reply(self, reply_id: str, lease_seconds: float, claimant: str) -> OutboundReply | None:
        """Take a pending reply (or one whose claim expired) for sending, or renew the
        claimant's own claim; None when it is not there, already sent or failed, or
        claimed by another sender right now."""

    def record_reply_part(self, reply_id: str, parts_sent: int, provider_sid: str | None) -> None:
        """A long reply went out up to part `parts_sent`: a later retry resumes after it."""

    def update_reply_by_provider_sid(
        self, provider_sid: str, status: ReplyStatus, error: str | None = None
    ) -> bool:
        """Record a delivery status callback as `takes_receipt` allows; False when no reply
        has that provider SID."""

    # privacy
    def forget_participant(self, participant: str) -> dict[str, int]:
        """Delete every record of one participant in every event; counts removed per kind.

        Their MessageSids stay behind as tombstones (a hash of each, nothing else), so a
        replayed delivery is not recorded again: `record_inbound` answers False for it.
        """

    def secret(self, name: str) -> str:
        """A random value kept in the store, made on first ask: the same in every process."""

    def add_block(self, entry: BlockedNumber) -> bool:
        """Block a number (by its key); False when it was blocked already."""

    def remove_block(self, key: str) -> bool:
        """Unblock a number (by its key); False when it was not blocked."""

    def list_blocks(self) -> list[BlockedNumber]: ...

    # operators' reading: streamed a page at a time, so a large deployment holds one page
    def iter_participants(self) -> Iterator[ParticipantSnapshot]:
        """Every conversation snapshot."""

    def iter_profiles(self, event_id: str) -> Iterator[dict]:
        """Every participant profile of one event (case-insensitive), ordered by participant."""

    def iter_replies(self, statuses: Sequence[ReplyStatus]) -> Iterator[OutboundReply]:
        """Every outbox reply in one of these statuses."""

    def ping(self) -> None:
        """Raise `StoreError` when the store cannot take a write: one tiny write, for
        health checks (a store that answers reads but not writes loses deliveries)."""

    def close(self) -> None: ...
