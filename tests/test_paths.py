"""Path coverage derived from the graph, in the manner of XState's model-based test paths.

A breadth-first search drives the real engine with an alphabet of participant actions and
remembers, for every transition and route of transitions.yaml, the shortest sequence of
messages that fires it. Each sequence is then replayed from scratch against the engine and
the transition's destination is asserted. The test prints the coverage and fails when a
transition of the graph cannot be reached.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

import pytest
from harness import (
    EVERY_QUESTION,
    NOT_UNDERSTOOD,
    Clock,
    Conversation,
    asking_every_question_event,
    fixture_events,
    make_engine,
    sample_answer,
    shipped_flow,
)

from listener.models import Media
from listener.store.sqlite import SQLiteStore

MAX_DEPTH = 10


def explored_events() -> dict:
    """The fixture events that run in English only: the search grows with every event, and
    the ones in other languages are walked by the conversation scripts (30 to 34)."""
    return {event_id: event for event_id, event in fixture_events().items() if event.languages == ["en"]}


def alphabet() -> list[str]:
    """What a participant may send, from the graph and the fixture events: every event ID,
    an unknown one, an answer each declared question understands and one none does, yes and
    no, an option number, each command (with an event ID, a name or nothing after it when it
    takes words), and a thought."""
    flow = shipped_flow()
    events = sorted({*explored_events(), EVERY_QUESTION})
    answers = [sample_answer(question) for question in flow.spec.questions]
    commands = []
    for command in flow.spec.inbound.commands:
        word = command.word_in("en")
        arguments = ("español", "English") if command.trigger == "language" else ("Robin", "TOWNHALL", "CLIMATE24", "OLDFAIR", "NOPE")
        commands += [f"{word} {argument}" for argument in arguments] + [word] if command.argument else [word]
    return [*events, "nonsense", *dict.fromkeys(answers), NOT_UNDERSTOOD, "prefer not to say", "yes", "no", "1",
            *commands, "an idea about parks"]


TEXTS = alphabet()
SPECIAL = ["picture", "voice note, untranscribed", "back after 25 hours", "current event deleted"]
ACTIONS = TEXTS + SPECIAL


@dataclass
class World:
    """One explored situation: a store, a clock, and how we got there."""

    store: SQLiteStore
    now: datetime
    path: list[str] = field(default_factory=list)


def fresh_world() -> World:
    store = SQLiteStore(":memory:")
    for event in [*explored_events().values(), asking_every_question_event()]:
        store.put_event(event)
    return World(store=store, now=Clock().now)


def clone(world: World) -> World:
    copy = SQLiteStore(":memory:")
    world.store._memory_conn.backup(copy._memory_conn)
    return World(store=copy, now=world.now, path=list(world.path))


def act(world: World, action: str) -> tuple[list[str], str]:
    """Send one message for `action`; return the fired transitions and the final state."""
    chat = Conversation(make_engine(world.store), clock=Clock(world.now))
    media = []
    body = action
    if action == "picture":
        body, media = "", [Media(url="https://api.twilio.com/m/1", content_type="image/jpeg")]
    elif action == "voice note, untranscribed":
        body, media = "", [Media(url="https://api.twilio.com/m/2", content_type="audio/ogg")]
    elif action == "back after 25 hours":
        chat.clock.advance(hours=25)
        body = "back with a thought"
    elif action == "current event deleted":
        snapshot = chat.snapshot
        if snapshot is None or snapshot.current_event_id is None:
            return [], chat.state or ""
        world.store.delete_event(snapshot.current_event_id)
        body = "hello?"
    chat.send(body, media=media)
    world.now = chat.clock.now
    world.path.append(action)
    return (chat.last.trace if chat.last else []), chat.state


def situation(world: World) -> tuple:
    """What distinguishes two worlds for the search (coarse, to keep it small)."""
    snapshot = world.store.load_participant("+15550100001")
    if snapshot is None:
        return ("",)
    membership = snapshot.current_membership
    return (
        snapshot.state,
        snapshot.current_event_id,
        tuple(sorted(snapshot.events)),
        tuple(sorted(membership.answers)) if membership else (),
        membership.welcomed if membership else None,
        min(membership.messages, 5) if membership else 0,
        min(snapshot.attempts, 3),
        tuple(sorted(snapshot.pending)),
        tuple(sorted(e.event_id for e in world.store.list_events())),
    )


def explore() -> dict[str, list[str]]:
    """The shortest action path found for each transition label of the flow."""
    labels = set(shipped_flow().transition_labels)
    paths: dict[str, list[str]] = {}
    start = fresh_world()
    seen = {situation(start)}
    queue = deque([start])
    while queue and len(paths) < len(labels):
        world = queue.popleft()
        for action in ACTIONS:
            child = clone(world)
            trace, _ = act(child, action)
            for label in trace:
                paths.setdefault(label, list(child.path))
            key = situation(child)
            if key not in seen and len(child.path) < MAX_DEPTH:
                seen.add(key)
                queue.append(child)
            else:
                child.store.close()
        world.store.close()
    return paths


@pytest.fixture(scope="module")
def explored() -> dict[str, list[str]]:
    return explore()


def test_every_transition_of_the_graph_is_reached(explored):
    labels = set(shipped_flow().transition_labels)
    missing = sorted(labels - set(explored))
    print(f"\ntransition coverage: {len(labels) - len(missing)}/{len(labels)} transitions and routes reached")
    assert not missing, f"transitions no message sequence reached: {missing}"


def test_each_path_fires_its_transition_and_lands_on_its_destination(explored):
    flow = shipped_flow()
    routing = flow.routing
    checked = 0
    for label, path in sorted(explored.items()):
        source, dest, _ = flow.transition_labels[label]
        world = fresh_world()
        for action in path[:-1]:
            act(world, action)
        trace, final_state = act(world, path[-1])
        assert label in trace, (label, path, trace)
        position = trace.index(label)
        if dest is None:
            assert position == len(trace) - 1 and final_state == source, (label, path, trace, final_state)
        elif dest in routing:
            assert trace[position + 1].startswith(f"{dest}.routes["), (label, path, trace)
        else:
            assert position == len(trace) - 1 and final_state == dest, (label, path, trace, final_state)
        world.store.close()
        checked += 1
    assert checked == len(flow.transition_labels)
