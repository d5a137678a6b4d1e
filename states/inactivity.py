"""Back after a long silence: with several events, ask which one to continue.

The message that brought the participant back is parked in the snapshot and filed under
the event they finally choose (or the current one), so it is never lost.
"""

from __future__ import annotations

from listener.conversation.extraction import Choice
from listener.conversation.turn import Turn
from listener.conversation.values import template_value
from listener.conversation.wording import reads

RETURNED_MESSAGE = "returned_message"
OFFERED = "event_choices"


def _live_events(turn: Turn) -> list[Choice]:
    """The participant's events that still exist, most recently active first."""
    memberships = sorted(
        turn.snapshot.events.items(), key=lambda item: item[1].last_active_at, reverse=True
    )
    choices = []
    for event_id, _ in memberships:
        event = turn.services.events.get(event_id)
        if event is not None:
            choices.append(Choice(number=len(choices) + 1, event_id=event.event_id, name=event.display_name))
    return choices


@reads('in several events', unless='in one event')
def belongs_to_several_events(turn: Turn) -> bool:
    return len(_live_events(turn)) >= 2


def park_message(turn: Turn) -> None:
    turn.park_inbound(RETURNED_MESSAGE)


def offer_events(turn: Turn) -> None:
    """Fix the numbered list once, so "2" means the same event on every reply."""
    turn.snapshot.pending[OFFERED] = [choice.model_dump() for choice in _live_events(turn)]


def _offered(turn: Turn) -> list[Choice]:
    return [Choice.model_validate(item) for item in turn.snapshot.pending.get(OFFERED, [])]


@template_value("event_choices")
def _event_choices(turn: Turn) -> str:
    return "\n".join(f"{choice.number}. {choice.name}" for choice in _offered(turn))


def _chosen(turn: Turn):
    return turn.remember("choice", lambda: turn.services.extractor.choice(turn.text, _offered(turn)))


@reads('event chosen', unless='no event chosen')
def choice_made(turn: Turn) -> bool:
    found = _chosen(turn)
    return found.ok and turn.services.events.get(str(found.value)) is not None


def continue_with_choice(turn: Turn) -> None:
    turn.snapshot.current_event_id = str(_chosen(turn).value)
    turn.say("continuing_with")


def continue_with_current(turn: Turn) -> None:
    if turn.event is not None:
        turn.say("continuing_with")


def file_returned_message(turn: Turn) -> None:
    turn.file_parked(RETURNED_MESSAGE, turn.snapshot.current_event_id)
    turn.snapshot.pending.pop(OFFERED, None)
