"""Listening: every contribution is recorded; the reply is a minimal acknowledgement."""

from __future__ import annotations

from listener.conversation.responding import enforce_brevity
from listener.conversation.turn import Turn
from listener.conversation.wording import reads
from listener.models import ComposeRequest
from states.profile import given_name


@reads("over the event's limit", unless="under the event's limit")
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
    """Count the contribution; reply in a sentence or two, or not at all when the event is
    silent. An event whose replies are written by the model owes a reply the composer
    writes after the commit; the template is what goes out if it cannot."""
    event, membership = turn.event, turn.membership
    if membership is not None:
        membership.contributions += 1
    if event is None or event.responses == "silent":
        return
    compose = None
    if event.responses == "llm":
        compose = ComposeRequest(
            event_id=event.event_id,
            text=turn.text,
            name=given_name(turn),
            count=membership.messages if membership else 0,
            language=turn.language,
            language_name=turn.flow.spec.languages[turn.language][0],
        )
    turn.say_text(enforce_brevity(turn.render("acknowledgement")), compose=compose)
