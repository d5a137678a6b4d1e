"""Whose turn it is (`listener.processing.turns`): the rules, case by case. The processes
that follow them are tested in `test_several_processes.py`."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from listener.models import Queue, Turn, Waiting
from listener.processing.turns import Turns

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
ME, OTHER = "process-a", "process-b"
RULES = Turns(ME, seconds=15)


def waiting(sid: str, by: str | None, seconds_ago: float) -> Waiting:
    return Waiting(message_sid=sid, received_at=NOW - timedelta(seconds=seconds_ago), recorded_by=by)


def turn(owner: str, seconds_left: float) -> Turn:
    return Turn(owner=owner, until=NOW + timedelta(seconds=seconds_left))


CASES = [
    # (what, queue, the message considered, left to another process)
    ("nothing waits: a message recorded before queues", Queue(), "SM-1", False),
    ("its own message first in the queue", Queue(waiting=[waiting("SM-1", ME, 1)]), "SM-1", False),
    ("another's message, just recorded: that process is on it",
     Queue(waiting=[waiting("SM-1", OTHER, 1), waiting("SM-2", ME, 0)]), "SM-1", True),
    ("another's message, older than a turn: that process is gone",
     Queue(waiting=[waiting("SM-1", OTHER, 16), waiting("SM-2", ME, 0)]), "SM-1", False),
    ("a message recorded before processes said who recorded it",
     Queue(waiting=[waiting("SM-1", None, 1)]), "SM-1", False),
    ("another process's turn", Queue(waiting=[waiting("SM-1", ME, 1)], turn=turn(OTHER, 5)), "SM-1", True),
    ("another process's turn, lapsed", Queue(waiting=[waiting("SM-1", ME, 20)], turn=turn(OTHER, -1)), "SM-1", False),
    ("its own turn, going on through another's young message",
     Queue(waiting=[waiting("SM-2", OTHER, 0)], turn=turn(ME, 10)), "SM-2", False),
]


@pytest.mark.parametrize(("queue", "sid", "left"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_whose_turn(queue: Queue, sid: str, left: bool):
    assert RULES.leave(queue, sid, NOW) is left


def test_the_first_waiting_message_leaves_out_the_ones_that_failed_here():
    queue = Queue(waiting=[waiting("SM-1", ME, 3), waiting("SM-2", OTHER, 2)])
    assert RULES.first(queue).message_sid == "SM-1"
    assert RULES.first(queue, {"SM-1"}).message_sid == "SM-2"
    assert RULES.first(queue, {"SM-1", "SM-2"}) is None


def test_a_turn_lasts_its_seconds_from_now():
    assert RULES.mine(NOW) == Turn(owner=ME, until=NOW + timedelta(seconds=15))
