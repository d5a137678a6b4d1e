"""Profile questions: what to ask next, reading answers, welcome, name changes, finishing.

A question state names its field (`ask:`) and its parser (`answer:`); the functions here
work for any field, so a new question is a state in the graph plus, for a new kind of
answer, one parser below.
"""

from __future__ import annotations

from listener.conversation.extraction import ANONYMOUS, Extraction
from listener.conversation.turn import Turn
from listener.conversation.values import participant_name
from listener.models import Answer

# parsers named by question states (`answer:`) --------------------------------------------


def parse_name(turn: Turn) -> Extraction:
    found = turn.services.extractor.name(turn.text)
    return Extraction.found(ANONYMOUS) if found.status == "declined" else found


def parse_age(turn: Turn) -> Extraction:
    return turn.services.extractor.age(turn.text)


def parse_gender(turn: Turn) -> Extraction:
    return turn.services.extractor.gender(turn.text)


def parse_region(turn: Turn) -> Extraction:
    return turn.services.extractor.region(turn.text)


# routing ------------------------------------------------------------------------------------


def still_to_ask(turn: Turn, field: str) -> bool:
    """The event asks this question and the participant has not answered it there."""
    event, membership = turn.event, turn.membership
    if event is None or membership is None or membership.completed:
        return False
    return event.extraction_settings.enabled(field) and field not in membership.answers


def welcomed(turn: Turn) -> bool:
    membership = turn.membership
    return membership is not None and membership.welcomed


def welcome(turn: Turn) -> None:
    """The event's welcome, greeting the participant by name when they gave one."""
    membership = turn.membership
    assert membership is not None, "routing welcomes only in a joined event"
    membership.welcomed = True
    turn.touch(turn.snapshot.current_event_id)
    text = turn.render("welcome")
    name = participant_name(turn)
    if name and name not in text:
        text = f"{turn.render('greet_by_name')} {text}"
    turn.say_text(text)


# answers ------------------------------------------------------------------------------------


def _answer(turn: Turn) -> Extraction:
    parser = turn.flow.graph.callback(turn.arrival.answer)
    return turn.remember("answer", lambda: parser(turn))


def understood(turn: Turn) -> bool:
    """The answer was read: a value, or a clear "prefer not to say"."""
    return _answer(turn).status != "not_found"


def _store(turn: Turn, field: str, value: str | int | None, raw: str) -> None:
    membership = turn.membership
    assert membership is not None, "questions are asked only in a joined event"
    membership.answers[field] = Answer(value=value, raw=raw)
    turn.touch(turn.snapshot.current_event_id)


def save_answer(turn: Turn) -> None:
    found = _answer(turn)
    _store(turn, turn.arrival.ask, found.value if found.ok else None, turn.text)


def skip_answer(turn: Turn) -> None:
    """Asked enough: keep the last words as they were, with no value, and move on."""
    _store(turn, turn.arrival.ask, None, turn.text)


# change name <name> ------------------------------------------------------------------------


def _new_name(turn: Turn) -> Extraction:
    return turn.remember("new_name", lambda: turn.services.extractor.name(turn.argument))


def new_name_given(turn: Turn) -> bool:
    return bool(turn.argument) and _new_name(turn).status != "not_found"


def change_name(turn: Turn) -> None:
    found = _new_name(turn)
    _store(turn, "name", found.value if found.ok else ANONYMOUS, turn.argument)
    turn.say("name_changed", name=participant_name(turn) or ANONYMOUS)


# finish ---------------------------------------------------------------------------------


def complete(turn: Turn) -> None:
    """The completion message; the participant is done with this event (and may go on)."""
    membership = turn.membership
    if membership is not None:
        membership.completed = True
        membership.completed_at = turn.now
        turn.touch(turn.snapshot.current_event_id)
    turn.say("completion")
