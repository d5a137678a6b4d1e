"""Plain words for the guards the graph names, so the flow diagram reads as sentences.

A guard in `states/` says what it checks with `@reads("has a current event",
unless="no current event")`: the first words label a route or transition that lists it
under `conditions`, the second one that lists it under `unless`. `{0}` stands for the
guard's argument in the graph (`profile.still_to_ask(name)`). A guard without words is
shown by its function's name, so a designer's new guard still draws.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

Guard = TypeVar("Guard", bound=Callable[..., Any])


@dataclass(frozen=True)
class GuardWords:
    """What a guard checks, said when it passes (`when`) and when it fails (`unless`)."""

    when: str
    unless: str


def reads(when: str, unless: str) -> Callable[[Guard], Guard]:
    """Give a guard its plain words for the diagram (see the module's docstring)."""

    def mark(function: Guard) -> Guard:
        function.guard_words = GuardWords(when, unless)  # type: ignore[attr-defined]
        return function

    return mark


def words_of(function: Callable[..., Any]) -> GuardWords | None:
    return getattr(function, "guard_words", None)


def say_guard(name: str, words: GuardWords | None, args: tuple[str, ...], negated: bool) -> str:
    """The words for one guard as the graph uses it; its name when it has no words."""
    if words is None:
        plain = " ".join([name.replace("_", " "), *args])
        return f"not {plain}" if negated else plain
    return (words.unless if negated else words.when).format(*args)
