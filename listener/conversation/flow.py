"""One `transitions` machine per process, built from the checked graph.

A `Flow` turns an inbound message into the trigger the graph declares for it (a command,
a return after silence, media, or a plain message), fires it on the participant's `Turn`,
then follows routing states until the participant rests in a waiting state. It never names
a state of the conversation: all of that is in the graph.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from transitions import Machine

from listener.conversation.graph import CommandSpec, Graph, StateSpec, load_graph, normalise
from listener.conversation.turn import Turn
from listener.conversation.values import TEMPLATE_VALUES, fill
from listener.models import EventConfig, ParticipantSnapshot

ROUTE_TRIGGER = "__route__"
MAX_ROUTING_STEPS = 8


class FlowStuck(RuntimeError):
    """A message found no transition or routing did not settle: a graph bug, not user input."""


@dataclass(frozen=True)
class Candidate:
    """A trigger an inbound message may fire, with the words after a command."""

    trigger: str
    argument: str = ""
    command: bool = False


def _mark(label: str, turn: Turn) -> None:
    turn.trace.append(label)


def _left_state(turn: Turn) -> None:
    """Attempts count failed answers in one visit to a state: leaving it ends the visit."""
    turn.snapshot.attempts = 0


class Flow:
    """The graph, its machine, and the rules that map a message to triggers."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.spec = graph.spec
        self.template_values = TEMPLATE_VALUES
        self.machine = Machine(
            model=None,
            states=[self._state(state) for state in self.spec.states],
            initial=self.spec.initial,
            auto_transitions=False,
            send_event=False,
        )
        self.transition_labels: dict[str, tuple[str, str | None, str]] = {}
        for index, transition in enumerate(self.spec.transitions):
            for source in graph.expand_sources(transition):
                label = f"transitions[{index}]:{source}"
                self._add(label, transition.trigger, source, transition.dest, transition)
        for state in self.spec.states:
            for index, route in enumerate(state.routes):
                label = f"{state.name}.routes[{index}]"
                self._add(label, ROUTE_TRIGGER, state.name, route.dest, route)
        self.routing = {name for name, state in graph.states.items() if state.routing}
        self.triggers_by_state = {
            name: frozenset(self.machine.get_triggers(name)) for name in graph.states
        }
        self._commands = CommandWords(
            (normalise(word), command) for command in self.spec.inbound.commands for word in command.all_words()
        )
        self.on_message = [graph.callback(name) for name in self.spec.inbound.on_message]
        self.languages = graph.complete_languages()
        """The languages the flow speaks (every text written in each), its default first."""

    @classmethod
    def from_file(cls, path: str | Path) -> Flow:
        return cls(load_graph(path))

    def _state(self, state: StateSpec) -> dict:
        return {
            "name": state.name,
            "on_enter": [self.graph.callback(name) for name in state.on_enter],
            "on_exit": [_left_state, *(self.graph.callback(name) for name in state.on_exit)],
        }

    def _add(self, label, trigger, source, dest, spec) -> None:
        callbacks = self.graph.callback
        self.transition_labels[label] = (source, dest, trigger)
        self.machine.add_transition(
            trigger,
            source,
            dest,
            conditions=[callbacks(name) for name in spec.conditions],
            unless=[callbacks(name) for name in spec.unless],
            before=[partial(_mark, label), *(callbacks(name) for name in spec.before)],
            after=[callbacks(name) for name in spec.after],
        )

    # the participant's first state -----------------------------------------------------

    def new_snapshot(self, participant: str) -> ParticipantSnapshot:
        return ParticipantSnapshot(participant=participant, state=self.spec.initial)

    # message -> triggers ---------------------------------------------------------------

    def candidates(self, turn: Turn) -> list[Candidate]:
        """The triggers this message may fire, most specific first; a plain message last."""
        inbound = self.spec.inbound
        found: list[Candidate] = []
        matched = self._commands.match(normalise(turn.text))
        if matched is not None:
            words, command = matched
            argument = _argument(turn.text, words) if command.argument else ""
            found.append(Candidate(command.trigger, argument, True))
        silence = inbound.after_silence
        last = turn.snapshot.last_message_at
        if silence and last is not None:
            if (turn.now - last).total_seconds() > silence.after_hours * 3600:
                found.append(Candidate(silence.trigger))
        if inbound.media_only and turn.message.is_media_only:
            found.append(Candidate(inbound.media_only))
        found.append(Candidate(inbound.message))
        return found

    # firing ----------------------------------------------------------------------------

    def run(self, turn: Turn) -> Candidate:
        """Fire the first trigger the current state takes and whose guards pass; then route."""
        fired = None
        candidates = self.candidates(turn)
        turn.command = next((candidate.trigger for candidate in candidates if candidate.command), None)
        for callback in self.on_message:
            callback(turn)
        for candidate in candidates:
            if candidate.trigger not in self.triggers_by_state[turn.state]:
                continue
            turn.trigger = candidate.trigger
            turn.argument = candidate.argument
            if self.machine.events[candidate.trigger].trigger(turn, turn):
                fired = candidate
                break
        if fired is None:
            raise FlowStuck(f"no transition took {turn.trigger!r} in state {turn.state!r}")
        self.settle(turn)
        return fired

    def settle(self, turn: Turn) -> None:
        """Follow routing states until the participant waits for the next message."""
        for _ in range(MAX_ROUTING_STEPS):
            if turn.state not in self.routing:
                return
            self.machine.events[ROUTE_TRIGGER].trigger(turn, turn)
        raise FlowStuck(f"routing did not settle within {MAX_ROUTING_STEPS} steps at {turn.state!r}")

    # languages -------------------------------------------------------------------------

    def offered(self, event: EventConfig | None) -> list[str]:
        """The languages spoken here: the event's (those the flow speaks), else, before
        any event, every language the flow speaks."""
        if event is None:
            return self.languages
        return [tag for tag in event.languages if tag in self.languages] or self.languages[:1]

    def speaks(self, preferred: str | None, event: EventConfig | None) -> str:
        """The participant's language where they are, else the default language there."""
        offered = self.offered(event)
        return preferred if preferred in offered else offered[0]

    # texts -----------------------------------------------------------------------------

    def render(self, key: str, event: EventConfig | None, values: dict, rotation: int = 0,
               language: str | None = None) -> str:
        """The text `key` in `language` (the flow's default when None), overridden by the
        event's own field in that language where the graph says so."""
        spec = self.spec.texts[key]
        language = language or self.languages[0]
        template = None
        if spec.from_event and event is not None:
            template = event.text(spec.from_event, language)
        if template is None:
            variants = spec.text[language]
            template = variants if isinstance(variants, str) else variants[rotation % len(variants)]
        return fill(template, values)


class CommandWords:
    """Which command a whole message is, in every language's words: the longest words
    first. A command with an argument also matches as the message's first words (or, in a
    script written without spaces, its first characters). Looked up by the message's first
    word rather than tried one by one: with six languages' words, a scan was the costliest
    part of a step."""

    def __init__(self, pairs: Iterable[tuple[str, CommandSpec]]) -> None:
        ordered = sorted(pairs, key=lambda pair: -len(pair[0]))
        self._whole: dict[str, tuple[str, CommandSpec]] = {}
        self._leading: dict[str, list[tuple[int, str, CommandSpec]]] = {}
        self._joined: list[tuple[int, str, CommandSpec]] = []
        for rank, (words, command) in enumerate(ordered):
            self._whole.setdefault(words, (words, command))
            if command.argument:
                self._leading.setdefault(words.split(" ")[0], []).append((rank, words, command))
                if _joined_script(words):
                    self._joined.append((rank, words, command))

    def match(self, text: str) -> tuple[str, CommandSpec] | None:
        """The command words `text` is (or begins with, for a command taking an argument)."""
        whole = self._whole.get(text)
        if whole is not None:
            return whole
        first = text.split(" ", 1)[0]
        starts = [
            (rank, words, command)
            for rank, words, command in self._leading.get(first, ())
            if text.startswith(words + " ")
        ]
        starts += [(rank, words, command) for rank, words, command in self._joined if text.startswith(words)]
        if not starts:
            return None
        _, words, command = min(starts, key=lambda found: found[0])
        return words, command


def _joined_script(words: str) -> bool:
    """A command in a script written without spaces ("改名小明"): its argument may follow at once."""
    return bool(words) and unicodedata.east_asian_width(words[-1]) == "W"


def _argument(original: str, words: str) -> str:
    """The participant's own words after a command, case kept ("change name Ana María")."""
    folded = unicodedata.normalize("NFKC", original).strip()
    if _joined_script(words) and normalise(folded).startswith(words):
        rest = folded[folded.casefold().index(words) + len(words):]
        return rest.strip(" :,-：，").strip()
    count = len(words.split(" "))
    parts = folded.split(None, count)
    rest = parts[count] if len(parts) > count else ""
    return rest.strip(" :,-").strip()
