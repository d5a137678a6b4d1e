"""Events: find the event a participant names, join it, switch to another, notice it gone."""

from __future__ import annotations

from listener.conversation.extraction import Extraction
from listener.conversation.turn import Turn
from listener.conversation.values import template_value
from listener.conversation.wording import reads
from listener.models import Answer, EventConfig, Membership

PENDING_CHANGE = "event_change"


def _mentioned(turn: Turn, text: str) -> EventConfig | None:
    """The known event the words name (ID matched case-insensitively, words around it allowed)."""

    def extract() -> EventConfig | None:
        found: Extraction = turn.services.extractor.event_id(text, turn.services.events.ids())
        return turn.services.events.get(str(found.value)) if found.ok else None

    return turn.remember(f"event:{text}", extract)


def join(turn: Turn, event: EventConfig) -> None:
    """Make `event` current; a first join says the event's initial message, a return says so.

    Answers already given in this event are kept: routing skips what is known.
    """
    snapshot = turn.snapshot
    membership = snapshot.events.get(event.event_id)
    first_time = membership is None
    if first_time:
        snapshot.events[event.event_id] = Membership(
            joined_at=turn.now, last_active_at=turn.now, answers=_carried_over(turn)
        )
    snapshot.current_event_id = event.event_id
    turn.touch(event.event_id)
    turn.say("initial" if first_time else "rejoined")


def _carried_over(turn: Turn) -> dict[str, Answer]:
    """The answers a participant gave in their other events to questions that carry over
    (their name), the most recent first: a new event does not ask them again."""
    carried: dict[str, Answer] = {}
    memberships = sorted(turn.snapshot.events.values(), key=lambda membership: membership.last_active_at)
    for question in turn.flow.spec.questions:
        if not question.carry_over:
            continue
        for membership in memberships:
            if question.key in membership.answers and membership.answers[question.key].value is not None:
                carried[question.key] = membership.answers[question.key]
    return carried


# joining from the first message or the event-ID question -------------------------------


@reads('open event named', unless='no open event named')
def mentions_open_event(turn: Turn) -> bool:
    event = _mentioned(turn, turn.text)
    return event is not None and not event.closed


@reads('closed event named', unless='no closed event named')
def mentions_closed_event(turn: Turn) -> bool:
    event = _mentioned(turn, turn.text)
    return event is not None and event.closed


@template_value("closed_event")
def _closed_event(turn: Turn) -> str:
    event = _mentioned(turn, turn.argument or turn.text)
    return event.display_name if event else ""


def join_mentioned(turn: Turn) -> None:
    event = _mentioned(turn, turn.text)
    assert event is not None, "guarded by mentions_open_event"
    join(turn, event)


def say_unknown(turn: Turn) -> None:
    """Say the ID is unknown; from the last allowed miss on, add where to get help."""
    turn.snapshot.attempts += 1
    turn.say("event_unknown_help" if turn.snapshot.attempts >= turn.max_attempts else "event_unknown")


# the current event ------------------------------------------------------------------------


@reads('has a current event', unless='no current event')
def has_current_event(turn: Turn) -> bool:
    return turn.snapshot.current_event_id is not None


@reads('event still exists', unless='event deleted')
def current_event_exists(turn: Turn) -> bool:
    return turn.event is not None


GONE = "gone_event"


@template_value(GONE)
def _gone_event(turn: Turn) -> str:
    return turn.memo.get(GONE, "")


def forget_missing_event(turn: Turn) -> None:
    """The current event was deleted: say so; the event-ID question follows."""
    turn.memo[GONE] = turn.snapshot.current_event_id
    turn.snapshot.current_event_id = None
    turn.say("event_gone")


# change event <ID> ------------------------------------------------------------------------


def _target(turn: Turn) -> EventConfig | None:
    return _mentioned(turn, turn.argument) if turn.argument else None


@reads('another open event named', unless='no other open event named')
def change_target_known(turn: Turn) -> bool:
    """The argument names an open event other than the current one."""
    event = _target(turn)
    return (
        event is not None
        and not event.closed
        and event.event_id != turn.snapshot.current_event_id
    )


@reads('current event named', unless='current event not named')
def change_target_is_current(turn: Turn) -> bool:
    event = _target(turn)
    return event is not None and event.event_id == turn.snapshot.current_event_id


def say_change_target_unknown(turn: Turn) -> None:
    event = _target(turn)
    if not turn.argument:
        turn.say("change_event_how")
    elif event is not None and event.closed:
        turn.say("event_closed")
    else:
        turn.say("change_event_unknown")


@template_value("attempt")
def _attempt(turn: Turn) -> str:
    """What the participant tried as an event ID (`change event <attempt>`), cut short."""
    return turn.argument[:40]


def hold_change(turn: Turn) -> None:
    event = _target(turn)
    assert event is not None, "guarded by change_target_known"
    turn.snapshot.pending[PENDING_CHANGE] = event.event_id


@template_value("pending_event_name")
def _pending_event_name(turn: Turn) -> str:
    event_id = turn.snapshot.pending.get(PENDING_CHANGE)
    event = turn.services.events.get(event_id) if event_id else None
    return event.display_name if event else (event_id or "")


def join_pending(turn: Turn) -> None:
    """Switch to the event awaiting confirmation (it may have closed or gone meanwhile)."""
    event_id = turn.snapshot.pending.get(PENDING_CHANGE)
    event = turn.services.events.get(event_id) if event_id else None
    if event is None or event.closed:
        turn.say("staying_in_event")
        return
    join(turn, event)


def keep_as_contribution(turn: Turn) -> None:
    """Neither yes nor no: a participant who was already listening said something else,
    which belongs with what they said (the switch is off either way)."""
    membership = turn.membership
    if membership is not None and membership.welcomed:
        turn.record_inbound_as("contribution")


def forget_pending_change(turn: Turn) -> None:
    turn.snapshot.pending.pop(PENDING_CHANGE, None)
