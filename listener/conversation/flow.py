"""One `transitions` machine per process, built from the checked graph.

A `Flow` turns an inbound message into the trigger the graph declares for it (a command,
a return after silence, media, or a plain message), fires it on the participant's `Turn`,
then follows routing states until the participant rests in a waiting state. It never names
a state of the conversation: all of that is in the graph.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from transitions import Machine

from listener.conversation.graph import Graph, StateSpec, load_graph
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


def normalise(text: str) -> str:
    """Fold case, accents' width forms and spacing so commands match however typed."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"\s+", " ", text).strip()
    return text.strip(" .!?¡¿,;:'\"-*_")


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
        self._commands = sorted(
            (
                (normalise(word), command)
                for command in self.spec.inbound.commands
                for word in command.words
            ),
            key=lambda pair: -len(pair[0]),
        )

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
        text = normalise(turn.text)
        for words, command in self._commands:
            if command.argument:
                if text == words or text.startswith(words + " "):
                    found.append(Candidate(command.trigger, _argument(turn.text, words), True))
                    break
            elif text == words:
                found.append(Candidate(command.trigger, "", True))
                break
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
        for candidate in self.candidates(turn):
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

    # texts -----------------------------------------------------------------------------

    def render(self, key: str, event: EventConfig | None, values: dict, rotation: int = 0) -> str:
        """The text `key`, overridden by the event's own field where the graph says so."""
        spec = self.spec.texts[key]
        template = None
        if spec.from_event and event is not None:
            template = getattr(event, spec.from_event, None) or None
        if template is None:
            template = spec.text if isinstance(spec.text, str) else spec.text[rotation % len(spec.text)]
        return fill(template, values)


def _argument(original: str, words: str) -> str:
    """The participant's own words after a command, case kept ("change name Ana María")."""
    folded = unicodedata.normalize("NFKC", original).strip()
    count = len(words.split(" "))
    parts = folded.split(None, count)
    rest = parts[count] if len(parts) > count else ""
    return rest.strip(" :,-").strip()
