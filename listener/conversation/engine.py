"""Run one inbound message through the flow and commit what it changed, once.

`Engine.step` is pure: snapshot, message and the readings made before it in, `Outcome`
out (it reads event configuration through the cache, nothing else, and never waits on a
model). `Engine.readings_asked` is the same step run on a copy, to learn which readings
of the participant's words it would use, so the worker can ask the model for them first.
`Engine.process` wraps the step in the one read and one atomic commit a message costs,
and runs it again from a fresh read when another worker committed for the same
participant first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from listener.conversation.extraction import PreparedExtractor, ReadingRequest, Readings
from listener.conversation.flow import Flow
from listener.conversation.turn import Services, Turn, inbound_record
from listener.models import InboundMessage, Outcome, ParticipantSnapshot
from listener.store.base import Store, VersionConflict

log = logging.getLogger(__name__)

MAX_CONFLICT_RETRIES = 20
REMEMBERED_MESSAGES = 50
SET_ASIDE = "unprocessed"


@dataclass
class Engine:
    flow: Flow
    store: Store
    services: Services

    def process(self, message: InboundMessage, readings: Readings | None = None) -> Outcome | None:
        """Process a recorded inbound message; None when it was already processed."""
        return self._commit_from_fresh_read(message, lambda snapshot: self.step(snapshot, message, readings))

    def set_aside(self, message: InboundMessage) -> Outcome | None:
        """Keep a message the flow keeps failing on (a bug in behaviour, not bad input):
        filed as it is, under the current event, as kind `unprocessed`, with no state
        change and no reply, so it is never lost and stops being retried."""
        return self._commit_from_fresh_read(message, lambda snapshot: self._aside(snapshot, message))

    def _commit_from_fresh_read(
        self, message: InboundMessage, build: Callable[[ParticipantSnapshot | None], Outcome]
    ) -> Outcome | None:
        """One read, `build` the outcome, one commit; again from a fresh read on a conflict."""
        for _ in range(MAX_CONFLICT_RETRIES):
            snapshot = self.store.load_participant(message.participant)
            if snapshot is not None and message.message_sid in snapshot.recent_message_sids:
                return None
            outcome = build(snapshot)
            try:
                self.store.commit(outcome)
            except VersionConflict:
                log.info("version conflict for %s, running again", message.message_sid)
                continue
            return outcome
        raise VersionConflict(f"{message.message_sid}: gave up after {MAX_CONFLICT_RETRIES} conflicts")

    def _aside(self, snapshot: ParticipantSnapshot | None, message: InboundMessage) -> Outcome:
        working = snapshot if snapshot is not None else self.flow.new_snapshot(message.participant)
        expected_version = working.version
        record = inbound_record(message, SET_ASIDE, working.current_event_id, working.state, working.language)
        self._remember(working, message)
        working.version = expected_version + 1
        return Outcome(
            message_sid=message.message_sid, snapshot=working, expected_version=expected_version,
            interactions=[record],
        )

    @staticmethod
    def _remember(working: ParticipantSnapshot, message: InboundMessage) -> None:
        """The snapshot saw this message: its time, and its MessageSid among the recent."""
        if working.last_message_at is None or message.received_at > working.last_message_at:
            working.last_message_at = message.received_at
        working.recent_message_sids = [*working.recent_message_sids, message.message_sid][-REMEMBERED_MESSAGES:]

    def readings_asked(
        self, snapshot: ParticipantSnapshot | None, message: InboundMessage, readings: Readings | None = None
    ) -> list[ReadingRequest]:
        """The readings of the participant's words this message's step would use (a dry
        run on a copy of the snapshot: nothing it changes is kept)."""
        extractor = PreparedExtractor(self.services.extractor, readings)
        copy = snapshot.model_copy(deep=True) if snapshot is not None else None
        self._fire(copy, message, extractor)
        return list(dict.fromkeys(extractor.asked))

    def step(
        self, snapshot: ParticipantSnapshot | None, message: InboundMessage, readings: Readings | None = None
    ) -> Outcome:
        """What this message does to this snapshot: the new snapshot and every effect.

        The snapshot is taken over and becomes the outcome's (callers pass the one they just
        loaded); nothing is written anywhere. `readings` are answers read from the
        participant's words before the step (by the model); the offline rules read the rest.
        """
        extractor = PreparedExtractor(self.services.extractor, readings) if readings else self.services.extractor
        return self._fire(snapshot, message, extractor)

    def _fire(self, snapshot: ParticipantSnapshot | None, message: InboundMessage, extractor) -> Outcome:
        working = snapshot if snapshot is not None else self.flow.new_snapshot(message.participant)
        expected_version = working.version
        services = self.services if extractor is self.services.extractor else replace(self.services, extractor=extractor)
        turn = Turn(self.flow, services, working, message)
        fired = self.flow.run(turn)

        working.state = turn.state

        interactions = list(turn.filed)
        if not turn.inbound_parked:
            kind = turn.inbound_kind or ("command" if fired.command else turn.arrival.records)
            event_id = working.current_event_id
            interactions.append(turn.inbound_interaction(kind, event_id))
            membership = working.events.get(event_id) if event_id else None
            if membership is not None:
                membership.messages += 1
                membership.last_active_at = message.received_at
                turn.touch(event_id)
        interactions.extend(turn.outbound)
        self._remember(working, message)
        working.version = expected_version + 1
        return Outcome(
            message_sid=message.message_sid,
            snapshot=working,
            expected_version=expected_version,
            interactions=interactions,
            replies=turn.replies,
            touched_events=sorted(turn.touched),
            trace=turn.trace,
        )
