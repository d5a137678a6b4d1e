"""Listening: every contribution is recorded; the reply is a minimal acknowledgement."""

from __future__ import annotations

from listener.respond import AckRequest
from listener.turn import Turn
from listener.values import participant_name


def acknowledge(turn: Turn) -> None:
    """Reply in a sentence or two, or not at all when the event is silent."""
    event = turn.event
    if event is None or event.responses == "silent":
        return
    membership = turn.membership
    request = AckRequest(
        text=turn.text,
        event=event,
        name=participant_name(turn),
        count=membership.messages if membership else 0,
        template=turn.render("acknowledgement"),
    )
    reply = turn.services.responder.acknowledge(request)
    if reply:
        turn.say_text(reply)
