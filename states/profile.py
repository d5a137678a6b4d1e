"""Profile questions: what to ask next, reading answers, welcome, name changes, finishing.

The questions are declared in the graph (`questions:`); each question state names its
question (`ask:`) and the reader (`answer:`, `read_answer` here reads any declared type).
A new question is a YAML entry; a new kind of answer is one more type in
`listener.conversation.questions` and its reader.
"""

from __future__ import annotations

from listener.conversation.extraction import Extraction
from listener.conversation.questions import Question
from listener.conversation.turn import Turn
from listener.conversation.values import answer_value
from listener.conversation.wording import reads
from listener.models import Answer

NAME = "name"
"""The question `change name` and the welcome's greeting are about."""


def _question(turn: Turn, key: str) -> Question:
    return turn.flow.graph.questions[key]


def given_name(turn: Turn) -> str:
    """The name to greet the participant by: '' when they gave none or stay anonymous."""
    return answer_value(turn, NAME, declined=False)


# the reader named by question states (`answer:`) --------------------------------------------


def read_answer(turn: Turn) -> Extraction:
    """The answer to the question the participant was asked, read by its type."""
    return turn.services.extractor.answer(_question(turn, turn.arrival.ask), turn.text)


# routing ------------------------------------------------------------------------------------


@reads('still to ask {0}', unless='{0} answered')
def still_to_ask(turn: Turn, key: str) -> bool:
    """The event asks this question and the participant has not answered it there."""
    event, membership = turn.event, turn.membership
    if event is None or membership is None or membership.completed:
        return False
    asked = event.extraction_settings.enabled(key, _question(turn, key).asked_by_default)
    return asked and key not in membership.answers


@reads('welcomed', unless='not welcomed yet')
def welcomed(turn: Turn) -> bool:
    membership = turn.membership
    return membership is not None and membership.welcomed


@reads('finished', unless='not finished')
def completed(turn: Turn) -> bool:
    """The participant said `finish` in this event (a welcome would come after the goodbye)."""
    membership = turn.membership
    return membership is not None and membership.completed


def welcome(turn: Turn) -> None:
    """The event's welcome, greeting the participant by name when they gave one."""
    membership = turn.membership
    assert membership is not None, "routing welcomes only in a joined event"
    membership.welcomed = True
    turn.touch(turn.snapshot.current_event_id)
    text = turn.render("welcome")
    name = given_name(turn)
    if name and name not in text:
        text = f"{turn.render('greet_by_name')} {text}"
    turn.say_text(text)


# answers ------------------------------------------------------------------------------------


def _answer(turn: Turn) -> Extraction:
    parser = turn.flow.graph.callback(turn.arrival.answer)
    return turn.remember("answer", lambda: parser(turn))


@reads('answer understood', unless='answer not understood')
def understood(turn: Turn) -> bool:
    """The answer was read: a value, or a clear "prefer not to say"."""
    return _answer(turn).status != "not_found"


def _store(turn: Turn, key: str, found: Extraction, raw: str) -> None:
    """Keep an answer: its value, or what the question stores for "prefer not to say"."""
    membership = turn.membership
    assert membership is not None, "questions are asked only in a joined event"
    declined = found.status == "declined"
    value = _question(turn, key).declined if declined else (found.value if found.ok else None)
    membership.answers[key] = Answer(value=value, raw=raw, declined=declined)
    turn.touch(turn.snapshot.current_event_id)


def save_answer(turn: Turn) -> None:
    _store(turn, turn.arrival.ask, _answer(turn), turn.text)


def skip_answer(turn: Turn) -> None:
    """Asked enough: keep the last words as they were, with no value, and move on."""
    _store(turn, turn.arrival.ask, Extraction.not_found(), turn.text)


# change name <name> ------------------------------------------------------------------------


def _new_name(turn: Turn) -> Extraction:
    question = _question(turn, NAME)
    return turn.remember("new_name", lambda: turn.services.extractor.answer(question, turn.argument))


@reads('new name given', unless='no name given')
def new_name_given(turn: Turn) -> bool:
    return bool(turn.argument) and NAME in turn.flow.graph.questions and _new_name(turn).status != "not_found"


def change_name(turn: Turn) -> None:
    _store(turn, NAME, _new_name(turn), turn.argument)
    turn.say("name_changed")


# finish ---------------------------------------------------------------------------------


def complete(turn: Turn) -> None:
    """The completion message; the participant is done with this event (and may go on)."""
    membership = turn.membership
    if membership is not None:
        membership.completed = True
        membership.completed_at = turn.now
        turn.touch(turn.snapshot.current_event_id)
    turn.say("completion")
