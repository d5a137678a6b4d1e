"""The ports: what each part of the program asks of the store, one small protocol each.

A message's path uses four: the webhook records it in the `Inbox`; processing loads and
commits the participant in `Conversations`; sending takes replies from the `Outbox`;
the flow reads `Events`. Operators read the `Records` (exports, stats, the console) and
keep `Privacy` (forgetting a participant, the blocklist, the store's secrets). Each part
is typed to the port it uses, so what it may touch is in its signature. One store object
(SQLite or Firestore) implements them all (`listener.store.base.Store`), and the store
contract suite holds every implementation to each port.

Every method is synchronous and safe to call from several threads; storage trouble
raises `StoreError` (`StoreUnavailable` when trying again later should work).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Protocol

from listener.models import (
    EventConfig,
    InboundMessage,
    InboxStatus,
    Interaction,
    OutboundReply,
    Outcome,
    ParticipantSnapshot,
    Queue,
    ReplyStatus,
    Waiting,
)
from listener.operators.privacy import BlockedNumber


class Inbox(Protocol):
    """Every inbound message, recorded once by MessageSid before the webhook answers."""

    def record_inbound(self, message: InboundMessage) -> bool:
        """Record a delivery, and that it waits in its participant's queue (in the same
        write); False when this MessageSid was already recorded (or was a forgotten
        participant's)."""

    def record_inbound_many(self, messages: Sequence[InboundMessage]) -> list[bool]:
        """`record_inbound` for each, in one write (the webhook's group commit): whether
        each was recorded, in order; all of it or, on `StoreError`, none of it."""

    def inbound_status(self, message_sid: str) -> InboxStatus | None: ...

    def pending_message(self, message_sid: str) -> InboundMessage | None:
        """A recorded message still waiting to be processed; None when it is done,
        forgotten or was never recorded (another process's message, taken over)."""

    def pending_inbound(self, received_before: datetime, limit: int = 100) -> list[InboundMessage]:
        """Recorded before `received_before` but not yet processed, oldest first (resumed
        after a crash); one indexed query that reads only what it returns."""

    def record_failed_attempt(self, message_sid: str, error: str) -> int:
        """Count one failed try at processing a pending inbox item, on the item itself (so
        every process sees one count), keeping `error` as its last error; the new count.
        0 when no pending item has that MessageSid (never recorded, done, or forgotten)."""


class Conversations(Protocol):
    """The participant's snapshot: one read before a message, one atomic commit after."""

    def load_participant(self, participant: str) -> ParticipantSnapshot | None: ...

    def load_queue(self, participant: str) -> tuple[ParticipantSnapshot | None, Queue]:
        """The snapshot and the participant's queue (their waiting messages, whose turn it
        is), in the one read a message costs."""

    def commit(self, outcome: Outcome) -> list[Waiting]:
        """Apply one message's outcome atomically; the participant's messages still
        waiting after it, oldest first (every one recorded before the commit).

        Writes the snapshot (only if its stored version is still
        `outcome.expected_version`, raising `VersionConflict` otherwise), the profiles of
        the touched events, the interactions, the outbox replies, marks the inbox item
        done (no longer waiting), and keeps `outcome.turn` while other messages still
        wait (else no one's turn). All of it or none of it.
        """


class Outbox(Protocol):
    """Replies owed, from the commit that made them to Twilio's last delivery receipt."""

    def pending_replies(self, now: datetime, limit: int = 100) -> list[OutboundReply]:
        """Replies not yet sent that no sender holds: pending, or `sending` with a claim
        that ended before `now` (its sender crashed or hung), in the order they were
        committed. Indexed queries: replies held right now are not read."""

    def get_reply(self, reply_id: str) -> OutboundReply | None: ...

    def replies_for(self, participant: str, since: datetime) -> list[OutboundReply]:
        """The participant's replies created at or after `since`, oldest first (what a
        send of unknown outcome is told apart from in Twilio's log); one indexed query."""

    def claim_reply(self, reply_id: str, lease_seconds: float, claimant: str) -> OutboundReply | None:
        """Take a reply for sending as `OutboundReply.claim` allows (pending, the
        claimant's own, or a claim that ended), for `lease_seconds`; None when it is not
        there or not free."""

    def update_reply(
        self,
        reply_id: str,
        status: ReplyStatus,
        provider_sid: str | None = None,
        error: str | None = None,
        composed: OutboundReply | None = None,
    ) -> None:
        """Record a send's result in one write (the fields `send_result` names). `composed`
        is the reply as the composer wrote it: its text replaces the stored one, on the
        reply and on its interaction."""

    def record_reply_part(self, reply_id: str, parts_sent: int, provider_sid: str | None) -> None:
        """A long reply went out up to part `parts_sent`: a later retry resumes after it."""

    def update_reply_by_provider_sid(
        self, provider_sid: str, status: ReplyStatus, error: str | None = None
    ) -> bool:
        """Record a delivery status callback as `takes_receipt` allows; False when no reply
        has that provider SID."""


class Events(Protocol):
    """Events' configuration, found by ID without regard to case."""

    def put_event(self, event: EventConfig) -> None: ...

    def get_event(self, event_id: str) -> EventConfig | None:
        """Case-insensitive lookup by event ID."""

    def list_events(self) -> list[EventConfig]: ...

    def delete_event(self, event_id: str) -> bool: ...


class Records(Protocol):
    """What operators read (exports, stats, the console), streamed a page at a time so a
    large deployment holds one page; and the transcripts filled in later."""

    def get_profile(self, event_id: str, participant: str) -> dict | None:
        """A participant's profile in one event (a projection of the snapshot's membership)."""

    def iter_interactions(
        self,
        event_id: str | None = None,
        participant: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Iterator[Interaction]:
        """Stream interactions in the order they were committed."""

    def iter_participants(self) -> Iterator[ParticipantSnapshot]:
        """Every conversation snapshot."""

    def iter_profiles(self, event_id: str) -> Iterator[dict]:
        """Every participant profile of one event (case-insensitive), ordered by participant."""

    def iter_replies(
        self, statuses: Sequence[ReplyStatus], since: datetime | None = None
    ) -> Iterator[OutboundReply]:
        """Every outbox reply in one of these statuses; with `since`, only those Twilio
        accepted at or after it (`sent_at`), oldest first, read through an index: a poll of
        the last hours does not read the whole outbox."""

    def save_transcript(
        self, interaction_id: str, text: str, model: str | None, language: str | None
    ) -> bool:
        """Fill in a voice note's transcript later (`listener transcribe --pending`)."""


class Privacy(Protocol):
    """Forgetting a participant, the blocklist, and the secrets its keys are made with."""

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
