"""Whose turn it is: one participant's messages in the order they were received, when
several processes (dynos, `--workers 2`) share one store.

Each process keeps its own participants' messages in order in memory (`OrderedLanes`),
but Twilio may hand a participant's next message to another process while the first is
still being processed there. The store keeps the participant's queue beside their
snapshot (`Queue`: every message recorded and not yet processed, and the `Turn` of the
process working through them), read in the one read a message costs, so:

- the process that recorded the oldest waiting message processes it, and then every
  message still waiting after each of its commits, whoever recorded them; while some
  wait, its commits hold the turn (`TURN_SECONDS`, renewed by each commit), and other
  processes only record what they receive;
- a process that finds an older message waiting, recorded by another process less than
  `TURN_SECONDS` ago, leaves its own message to that process (which will reach it: the
  queue it commits against includes every message recorded before its commit);
- a turn or a waiting message older than that is taken over, by the next message for
  that participant or by the recovery sweep: a process that died delays no one for
  longer than `TURN_SECONDS` plus a recovery interval.

A single process never waits on itself: its own messages are in its own lanes.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from datetime import datetime, timedelta

from listener.models import Queue, Turn, Waiting


@dataclass(frozen=True)
class Turns:
    """The rules, for the process `identity`, with turns lasting `seconds`."""

    identity: str
    seconds: float

    def mine(self, now: datetime) -> Turn:
        """This process's turn, from now."""
        return Turn(owner=self.identity, until=now + timedelta(seconds=self.seconds))

    @staticmethod
    def first(queue: Queue, skip: Container[str] = ()) -> Waiting | None:
        """The oldest waiting message, leaving out `skip` (messages this process failed on:
        retried by the recovery sweep, never holding the rest back)."""
        return next((item for item in queue.waiting if item.message_sid not in skip), None)

    def leave(self, queue: Queue, message_sid: str, now: datetime) -> bool:
        """Whether to leave `message_sid` (the oldest waiting, or a message not in the queue)
        to another process: it is that process's turn, or that process recorded the message
        a moment ago and is processing it."""
        turn = queue.turn
        if turn is not None and turn.until > now:
            return turn.owner != self.identity
        recorded = next((item for item in queue.waiting if item.message_sid == message_sid), None)
        if recorded is None or recorded.recorded_by in (None, self.identity):
            return False
        return recorded.received_at > now - timedelta(seconds=self.seconds)
