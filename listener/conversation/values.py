"""The `{placeholders}` any text in the graph may use, each computed from the turn.

A text asks for a value by name; only the values a text names are computed. Every
declared question's key is a value too (the participant's answer in the current event).
Behaviour that needs a value of its own registers it (`template_value`), so the loader
knows every name a text may use and refuses a text that names another: `{nmae}` never
reaches a participant.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from listener.conversation.turn import Turn

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def placeholders(text: str) -> list[str]:
    """The `{names}` a text uses."""
    return PLACEHOLDER.findall(text)


def fill(template: str, values: Mapping[str, Any]) -> str:
    """The text with each `{name}` replaced by its value; a name without one becomes
    nothing, never its braces (the loader refuses such names in the graph's texts)."""

    def value(match: re.Match[str]) -> str:
        try:
            found = values[match[1]]
        except KeyError:
            return ""
        return "" if found is None else str(found)

    return PLACEHOLDER.sub(value, template)


def answer_value(turn: Turn, key: str, *, declined: bool = True) -> str:
    """The participant's answer to a question in the current event ('' when none). A
    "prefer not to say" reads as what the question stores for it ("Anonymous"), or as ''
    when `declined` is False."""
    membership = turn.membership
    answer = membership.answers.get(key) if membership else None
    if answer is None or answer.value is None or (answer.declined and not declined):
        return ""
    return str(answer.value)


def known_values(question_keys: Iterable[str]) -> set[str]:
    """Every name a text may use with these questions declared."""
    return set(TEMPLATE_VALUES) | set(question_keys)


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
    """The commands that work in the participant's state, one a line, in their language."""
    lines = []
    works_here = turn.flow.triggers_by_state[turn.state]
    language = turn.language
    for command in turn.flow.spec.inbound.commands:
        if command.trigger not in works_here or not command.listed:
            continue
        words = command.word_in(language) + (" …" if command.argument else "")
        lines.append(f"• {words}")
    return "\n".join(lines)


def _languages(turn: Turn) -> str:
    """The languages spoken here, each by its own name ("español, English")."""
    names = turn.flow.spec.languages
    return ", ".join(names[tag][0] for tag in turn.flow.offered(turn.event))


TEMPLATE_VALUES: dict[str, Callable[[Turn], Any]] = {
    "event_id": _event_field("event_id"),
    "event_name": _event_name,
    "event_location": _event_field("event_location"),
    "commands": _commands,
    "languages": _languages,
}


def template_value(name: str) -> Callable[[Callable[[Turn], Any]], Callable[[Turn], Any]]:
    """Register a `{name}` value computed by behaviour in `states/` (one function, no wiring)."""

    def register(function: Callable[[Turn], Any]) -> Callable[[Turn], Any]:
        TEMPLATE_VALUES[name] = function
        return function

    return register
