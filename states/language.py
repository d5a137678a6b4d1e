"""The participant's language: noticed in what they write, or chosen with `language <name>`.

Every message may show its language (`notice`, run on every message before its
trigger): when its words clearly are in another language the participant's event speaks,
that becomes their language. Short words never show one ("ok", "34", an event ID), and
neither do a name given as an answer, a command, or anything written after the
participant chose their language themselves. A voice note shows the language its
transcription reported.
"""

from __future__ import annotations

import unicodedata

from listener.conversation.turn import Turn
from listener.conversation.wording import reads
from listener.languages import canonical_tag, folded_name, primary


def _reported(turn: Turn) -> str | None:
    """The transcription's language for a voice note ("es", or "spanish"), as a tag the flow ships."""
    reported = folded_name(turn.message.transcript_language or "")
    if not reported or turn.message.body.strip():
        return None
    return _named(turn, reported)


def _named(turn: Turn, name: str) -> str | None:
    """The shipped language `name` (folded) names, by one of its names or its tag."""
    shipped = turn.flow.spec.languages
    for tag, names in shipped.items():
        if name in {folded_name(known) for known in names}:
            return tag
    try:
        tag = canonical_tag(name)
    except ValueError:
        return None
    return tag if tag in shipped else next((known for known in shipped if primary(known) == primary(tag)), None)


def _names_someone(turn: Turn) -> bool:
    """The message answers a question that asks for a name: a name shows no language."""
    asked = turn.arrival.ask
    question = turn.flow.graph.questions.get(asked) if asked else None
    return question is not None and getattr(question, "shape", None) == "name"


def notice(turn: Turn) -> None:
    """Note the language this message is in; make it the participant's when it clearly is
    one their event speaks (and they did not choose theirs)."""
    if turn.command is not None or _names_someone(turn):
        return
    shown = _reported(turn) or turn.services.languages.identify(turn.text)
    if shown is None:
        return
    turn.message_language = shown
    snapshot = turn.snapshot
    if not snapshot.language_chosen and shown in turn.flow.offered(turn.event):
        snapshot.language = shown


def _asked_for(turn: Turn) -> str | None:
    """The language `language <name or code>` names, if the flow ships it."""
    asked = folded_name(turn.argument.strip(" .!?¡¿"))
    return _named(turn, asked) if asked else None


@reads('a language spoken here', unless='no language spoken here')
def offered(turn: Turn) -> bool:
    """The participant named a language spoken here (their event's, or any before one)."""
    return _asked_for(turn) in turn.flow.offered(turn.event)


def choose(turn: Turn) -> None:
    """Speak the named language from now on, whatever the participant writes in."""
    turn.snapshot.language = _asked_for(turn)
    turn.snapshot.language_chosen = True


@reads('asks for a language', unless='not asking for a language')
def asks_for_a_language(turn: Turn) -> bool:
    """`language` alone, or followed by a word or two (a language not spoken here): not a
    sentence that happens to start with the word ("Language barriers are real here")."""
    asked = turn.argument.strip()
    ideographs = sum(1 for ch in asked if unicodedata.east_asian_width(ch) == "W")
    return len(asked.split()) <= 2 and ideographs <= 4
