"""What the flow diagram shows, read from the checked graph: boxes, arrows in words, the main path.

Every drawing (`listener flow graph` as Mermaid or SVG, the README, the console, the
simulator) is made from one `Drawing`, so they all show the same thing:

* **Boxes.** Each group of the graph (`joined`, the loader's `questions`, ...) is a box
  around its states, and `*` is a box around every state it covers. A transition whose
  source is a group is one arrow from its box, not one per member. Groups that overlap
  without one containing the other, or whose states the main path leaves and re-enters,
  cannot be boxes: their transitions are drawn from each member instead.
* **Arrows in words.** One arrow per (source, destination); its label has a line per
  transition or route, `trigger: condition words` (guards' words come from `states/`,
  see `listener.conversation.wording`). The routes the loader writes out of one
  `questions: GUARD` route are one arrow to the questions' box.
* **The main path**, the states a participant passes who always moves on (see
  `main_path`), is laid out first, top to bottom.

Each label line keeps the keys of the engine's trace that count it (`transitions[12]`,
`routing.routes[3]`), so the console can put how often it fired beside it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from listener.conversation.graph import (
    ANY_STATE,
    QUESTIONS_GROUP,
    Graph,
    TransitionSpec,
)
from listener.conversation.wording import say_guard

START = "[*]"
"""The start marker's name in a drawing (never a state: it is no YAML name)."""
ANY_TITLE = "* every state"


@dataclass(frozen=True)
class Label:
    """One transition or route of an arrow, in words, with the trace keys that count it."""

    text: str
    keys: tuple[str, ...]


@dataclass
class Edge:
    """An arrow from a state, a box or the start marker to a state or a box."""

    source: str
    dest: str
    labels: list[Label] = field(default_factory=list)


@dataclass(frozen=True)
class Node:
    name: str
    routing: bool
    line: int | None


@dataclass
class Box:
    """A group drawn as a box: `states` are all the states inside it, nested boxes too."""

    name: str
    title: str
    line: int | None
    states: frozenset[str]
    parent: str | None = None


@dataclass
class Drawing:
    file: str
    initial: str
    nodes: dict[str, Node]
    boxes: dict[str, Box]
    edges: list[Edge]
    main_path: list[str]

    def box_of(self, state: str) -> str | None:
        """The innermost box a state is drawn in."""
        inside = [box for box in self.boxes.values() if state in box.states]
        return min(inside, key=lambda box: len(box.states)).name if inside else None

    def contains(self, box: str, name: str) -> bool:
        """A state or a box is drawn inside `box`."""
        if name in self.boxes:
            return name != box and self.boxes[name].states <= self.boxes[box].states
        return name in self.boxes[box].states


def _as_list(value) -> list[str]:
    return value if isinstance(value, list) else [value]


def trace_key(label: str) -> str:
    """The key a trace label counts for: `transitions[12]:asking_name` -> `transitions[12]`
    (one transition, whichever member of its group it left from); routes as they are."""
    return label.split(":", 1)[0]


class _Builder:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.spec = graph.spec
        self.lines = graph.lines

    def guard_words(self, reference: str, negated: bool, args: tuple[str, ...] | None = None) -> str:
        callback = self.graph.callbacks[reference]
        return say_guard(callback.name, callback.words, callback.args if args is None else args, negated)

    def condition_words(self, conditions: list[str], unless: list[str]) -> str:
        words = [self.guard_words(name, False) for name in conditions]
        words += [self.guard_words(name, True) for name in unless]
        return " and ".join(words)

    # main path ---------------------------------------------------------------------------

    def main_path(self) -> list[str]:
        """The states a participant passes who always moves on: from a waiting state, a
        plain message's transitions (the unguarded one first: what a message does when
        nothing special applies; then in the order written); from a routing state, its
        routes in order; each time the first state not on the path yet. A message that
        leads back to a routing state already on the path goes on with that state's next
        route (how the questions follow each other)."""
        path = [self.spec.initial]
        while (following := self._next_on_path(path[-1], path)) is not None:
            path.append(following)
        return path

    def _next_on_path(self, state: str, path: list[str]) -> str | None:
        for dest in self._onward(state):
            if dest not in path:
                return dest
            if self.graph.states[dest].routing:
                for routed in self._onward(dest):
                    if routed not in path:
                        return routed
        return None

    def _onward(self, state: str) -> list[str]:
        spec = self.graph.states[state]
        if spec.routing:
            return [route.dest for route in spec.routes if route.dest is not None]
        taken = [
            transition for transition in self.spec.transitions
            if transition.trigger == self.spec.inbound.message and transition.dest not in (None, state)
            and state in self.graph.expand_sources(transition)
        ]
        taken.sort(key=lambda transition: bool(transition.conditions or transition.unless))
        return [transition.dest for transition in taken if transition.dest is not None]

    # boxes -------------------------------------------------------------------------------

    def boxes(self, path: list[str]) -> tuple[dict[str, Box], dict[str, str]]:
        """The groups that can be boxes (outer first) and each boxed group's box (a group
        with the same states as another is drawn as that one)."""
        groups = {name: frozenset(self.graph.expand_names([name])) for name in self.spec.groups}
        outside_any = self._outside_any()
        if outside_any is not None:
            groups[ANY_STATE] = frozenset(set(self.graph.states) - outside_any)
        chosen: dict[str, Box] = {}
        alias: dict[str, str] = {}
        for name in sorted(groups, key=lambda group: -len(groups[group])):
            states = groups[name]
            same = next((box for box in chosen.values() if box.states == states), None)
            if same is not None:
                alias[name] = same.name
                continue
            laminar = all(states <= box.states or box.states <= states or not states & box.states for box in chosen.values())
            if not states or not laminar or not self._contiguous(states, path):
                continue
            title = ANY_TITLE if name == ANY_STATE else name
            line = None if name == ANY_STATE else self.lines.groups.get(name) if self.lines else None
            chosen[name] = Box(name=name, title=title, line=line, states=states)
            alias[name] = name
        for box in chosen.values():
            parents = [other for other in chosen.values() if other is not box and box.states < other.states]
            box.parent = min(parents, key=lambda other: len(other.states)).name if parents else None
        return chosen, alias

    def _outside_any(self) -> set[str] | None:
        """The states the `*` box leaves out: those any drawn `*` transition excepts
        (None when no drawn transition leaves from `*`)."""
        starred = [t for t in self.spec.transitions if t.dest is not None and ANY_STATE in _as_list(t.source)]
        if not starred:
            return None
        return {name for t in starred for name in self.graph.expand_names(t.except_)}

    @staticmethod
    def _contiguous(states: frozenset[str], path: list[str]) -> bool:
        """The main path enters the box at most once (else its box would hold states
        that are not its own)."""
        on_path = [index for index, name in enumerate(path) if name in states]
        return not on_path or on_path[-1] - on_path[0] + 1 == len(on_path)

    # arrows ------------------------------------------------------------------------------

    def transition_edges(self, boxes: dict[str, Box], alias: dict[str, str]) -> Iterable[Edge]:
        for index, transition in enumerate(self.spec.transitions):
            if transition.dest is None:
                continue
            text = transition.trigger
            words = self.condition_words(transition.conditions, transition.unless)
            if words:
                text += f": {words}"
            for source, note in self._sources(transition, boxes, alias):
                yield Edge(source, transition.dest, [Label(text + note, (f"transitions[{index}]",))])

    def _sources(self, transition: TransitionSpec, boxes: dict[str, Box], alias: dict[str, str]) -> list[tuple[str, str]]:
        """Where a transition's arrows leave from: the box of each group it names (with
        the states it excepts there besides its destination), else each state."""
        leaving = self.graph.expand_sources(transition)
        found: list[tuple[str, str]] = []
        covered: set[str] = set()
        for name in _as_list(transition.source):
            box = alias.get(name)
            if box is None:
                continue
            inside = boxes[box].states
            excepted = [
                other for other in transition.except_
                if other != transition.dest and set(self.graph.expand_names([other])) & inside
            ]
            note = f" (not in {', '.join(excepted)})" if excepted else ""
            found.append((box, note))
            covered |= inside
        found += [(state, "") for state in leaving if state not in covered]
        return found

    def route_edges(self, boxes: dict[str, Box], alias: dict[str, str]) -> Iterable[Edge]:
        made = self.graph.question_routes or {}
        for name, state in self.graph.states.items():
            written = {route.first: route for route in made.get(name, [])}
            index = 0
            while index < len(state.routes):
                block = written.get(index)
                if block is not None and self._question_box(boxes, alias, state.routes[index:index + block.count]):
                    route = state.routes[index]
                    text = self.condition_words(route.conditions[:-1], route.unless)
                    asked = self.guard_words(route.conditions[-1], False, ("<key>",))
                    keys = tuple(f"{name}.routes[{at}]" for at in range(index, index + block.count))
                    words = f"{text} and {asked}" if text else asked
                    yield Edge(name, alias[QUESTIONS_GROUP], [Label(words, keys)])
                    index += block.count
                    continue
                route = state.routes[index]
                words = self.condition_words(route.conditions, route.unless) or "otherwise"
                assert route.dest is not None
                yield Edge(name, route.dest, [Label(words, (f"{name}.routes[{index}]",))])
                index += 1

    @staticmethod
    def _question_box(boxes: dict[str, Box], alias: dict[str, str], routes) -> bool:
        box = alias.get(QUESTIONS_GROUP)
        return box is not None and boxes[box].states == frozenset(route.dest for route in routes)


def _merged(edges: Iterable[Edge]) -> list[Edge]:
    """One arrow per (source, destination), its label lines in the order written."""
    merged: dict[tuple[str, str], Edge] = {}
    for edge in edges:
        known = merged.setdefault((edge.source, edge.dest), Edge(edge.source, edge.dest))
        for label in edge.labels:
            same = next((line for line in known.labels if line.text == label.text), None)
            if same is None:
                known.labels.append(label)
            else:
                known.labels[known.labels.index(same)] = Label(same.text, same.keys + label.keys)
    return list(merged.values())


def drawing(graph: Graph) -> Drawing:
    """The diagram of a checked graph (see the module's docstring)."""
    builder = _Builder(graph)
    path = builder.main_path()
    boxes, alias = builder.boxes(path)
    lines = graph.lines.states if graph.lines else {}
    nodes = {name: Node(name, state.routing, lines.get(name)) for name, state in graph.states.items()}
    edges = [Edge(START, graph.spec.initial), *builder.transition_edges(boxes, alias), *builder.route_edges(boxes, alias)]
    return Drawing(
        file=Path(graph.source).name, initial=graph.spec.initial, nodes=nodes, boxes=boxes,
        edges=_merged(edges), main_path=path,
    )
