"""Listening: every contribution is recorded; the reply is a minimal acknowledgement."""

from __future__ import annotations

from listener.conversation.responding import AckRequest
from listener.conversation.turn import Turn
from listener.conversation.values import participant_name


def over_limit(turn: Turn) -> bool:
    """The participant has made the event's `interaction_limit` contributions already
    (answers to questions and commands do not count)."""
    event, membership = turn.event, turn.membership
    if event is None or event.interaction_limit is None or membership is None:
        return False
    return membership.contributions >= event.interaction_limit


def note_over_limit(turn: Turn) -> None:
    """Keep the message (apart from contributions) and say so once, at the first one over."""
    turn.record_inbound_as("over_limit")
    event, membership = turn.event, turn.membership
    if membership.contributions == event.interaction_limit and event.responses != "silent":
        turn.say("limit_reached")
    membership.contributions += 1


def acknowledge(turn: Turn) -> None:
    """Count the contribution; reply in a sentence or two, or not at all when the event is silent."""
    event, membership = turn.event, turn.membership
    if membership is not None:
        membership.contributions += 1
    if event is None or event.responses == "silent":
        return
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
