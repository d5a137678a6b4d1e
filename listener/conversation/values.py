"""The `{placeholders}` any text in the graph may use, each computed from the turn.

A text asks for a value by name; only the values a text names are computed. Behaviour
that needs a value of its own passes it to `Turn.say` directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from listener.conversation.extraction import ANONYMOUS

if TYPE_CHECKING:
    from listener.conversation.turn import Turn


def participant_name(turn: Turn) -> str:
    """The name the participant gave in the current event, or '' when none or anonymous."""
    membership = turn.membership
    answer = membership.answers.get("name") if membership else None
    if answer is None or not answer.value or answer.value == ANONYMOUS:
        return ""
    return str(answer.value)


def _event_field(field: str) -> Callable[[Turn], str]:
    def value(turn: Turn) -> str:
        event = turn.event
        if event is None:
            return turn.snapshot.current_event_id or ""
        return getattr(event, field) or ""

    return value


def _event_name(turn: Turn) -> str:
    event = turn.event
    return event.display_name if event else (turn.snapshot.current_event_id or "")


def _commands(turn: Turn) -> str:
    lines = []
    for command in turn.flow.spec.inbound.commands:
        words = command.words[0] + (" …" if command.argument else "")
        lines.append(f"• {words}")
    return "\n".join(lines)


TEMPLATE_VALUES: dict[str, Callable[[Turn], Any]] = {
    "name": participant_name,
    "event_id": _event_field("event_id"),
    "event_name": _event_name,
    "event_location": _event_field("event_location"),
    "commands": _commands,
}


def template_value(name: str) -> Callable[[Callable[[Turn], Any]], Callable[[Turn], Any]]:
    """Register a `{name}` value computed by behaviour in `states/` (one function, no wiring)."""

    def register(function: Callable[[Turn], Any]) -> Callable[[Turn], Any]:
        TEMPLATE_VALUES[name] = function
        return function

    return register
