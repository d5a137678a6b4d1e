"""The flow diagram: groups drawn once, arrows in plain words, the main path in one line,
boxes that hold their own states only, lines that point at the YAML, and the engine's
trace kept on each inbound record and counted for the console."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta

from harness import ROOT, Conversation, fixture_events, make_engine, shipped_flow

from listener.console.views import fired_counts
from listener.conversation.flow import Flow
from listener.conversation.graph import parse_graph
from listener.conversation.wording import GuardWords, say_guard
from listener.diagram.layout import layout
from listener.diagram.mermaid import mermaid
from listener.diagram.model import START, drawing, trace_key
from listener.diagram.svg import FlowNumbers, render
from listener.store.sqlite import SQLiteStore

SHIPPED = (ROOT / "transitions.yaml").read_text(encoding="utf-8")
ARROW = re.compile(r'^\s+(?P<source>\S+) -->(?:\|"(?P<label>.*)"\|)? (?P<dest>\S+)$')


def test_the_mermaid_text_has_one_arrow_per_source_trigger_and_destination_and_fewer_than_30():
    text = mermaid(drawing(shipped_flow().graph))
    triggers = shipped_flow().spec.inbound.triggers()
    arrows = [match for line in text.splitlines() if (match := ARROW.match(line))]
    drawn: Counter[tuple[str, str, str]] = Counter()
    for match in arrows:
        said = {words.split(":")[0] for words in (match["label"] or "").split("<br/>")}
        for trigger in {word if word in triggers else "route" for word in said}:
            drawn[(match["source"], trigger, match["dest"])] += 1
    assert max(drawn.values()) == 1, [arrow for arrow, count in drawn.items() if count > 1]
    assert len(arrows) < 30, f"{len(arrows)} arrows"


def test_commands_leave_from_their_group_not_from_each_member():
    picture = drawing(shipped_flow().graph)
    joined = picture.boxes["joined"].states
    commands = {command.trigger for command in shipped_flow().spec.inbound.commands}
    for edge in picture.edges:
        for label in edge.labels:
            trigger = label.text.split(":")[0]
            if trigger in commands and edge.source in joined:
                raise AssertionError(f"{trigger} drawn from the member {edge.source}, not from its group")
    sources = {label.text.split(":")[0]: edge.source for edge in picture.edges for label in edge.labels}
    assert sources["change_name"] == sources["finish"] == "joined"
    assert sources["stop"] == "*"
    assert sources["message"] != "asking_name"


def test_routes_read_in_plain_words_from_the_guards():
    picture = drawing(shipped_flow().graph)
    routes = {label.text for edge in picture.edges if edge.source == "routing" for label in edge.labels}
    assert routes == {"no current event", "event deleted", "still to ask <key>", "not welcomed yet and not finished",
                      "otherwise"}
    graph = shipped_flow().graph
    guards = {name for t in graph.spec.transitions for name in [*t.conditions, *t.unless]}
    guards |= {name for state in graph.states.values() for route in state.routes for name in [*route.conditions, *route.unless]}
    unworded = sorted(name for name in guards if graph.callbacks[name].words is None)
    assert not unworded, f"guards without plain words for the diagram: {unworded} (add @reads in states/)"


def test_a_guard_without_words_is_drawn_by_its_name():
    assert say_guard("has_paid", None, (), False) == "has paid"
    assert say_guard("still_to_ask", None, ("age",), True) == "not still to ask age"
    assert say_guard("x", GuardWords("asked {0}", "{0} answered"), ("age",), True) == "age answered"


def test_the_main_path_is_derived_from_the_graph():
    assert drawing(shipped_flow().graph).main_path == [
        "new", "awaiting_event_id", "routing", "asking_name", "asking_age", "asking_gender", "asking_region",
        "listening",
    ]
    added = SHIPPED.replace("# Every question's state is made of this", """  - key: occupation
    type: text
    ask: "What do you do?"

# Every question's state is made of this""", 1)
    path = drawing(parse_graph(added)).main_path
    assert path[-2:] == ["asking_occupation", "listening"]


def test_the_main_path_is_one_straight_line_and_the_rest_beside_it():
    picture = drawing(shipped_flow().graph)
    placed = layout(picture, {}, {})
    main = [placed.nodes[name].rect for name in [START, *picture.main_path]]
    assert len({round(rect.cx, 3) for rect in main}) == 1
    assert all(upper.bottom < lower.y for upper, lower in zip(main, main[1:]))
    for name, node in placed.nodes.items():
        if name not in picture.main_path and name != START:
            assert node.rect.x > main[0].cx, f"{name} is not beside the main path"


def test_each_box_holds_its_own_states_and_no_other():
    picture = drawing(shipped_flow().graph)
    placed = layout(picture, {}, {})
    for name, box in placed.boxes.items():
        inside = {
            state for state, node in placed.nodes.items()
            if box.rect.x < node.rect.cx < box.rect.right and box.rect.y < node.rect.cy < box.rect.bottom
        }
        assert inside == set(picture.boxes[name].states), name
    for outer in placed.boxes.values():
        for inner in placed.boxes.values():
            if picture.boxes[inner.name].parent == outer.name:
                assert outer.rect.x < inner.rect.x and inner.rect.right < outer.rect.right
                assert outer.rect.y < inner.rect.y and inner.rect.bottom < outer.rect.bottom


def test_labels_cover_no_state_and_no_other_label():
    picture = drawing(shipped_flow().graph)
    numbers = FlowNumbers({name: 12 for name in picture.nodes}, {})
    for lines in ({}, {name: ["transitions.yaml:100", "12 here"] for name in picture.nodes}):
        placed = layout(picture, lines, {})
        labels = [edge.label for edge in placed.edges if edge.label is not None]
        assert len(labels) == len([edge for edge in picture.edges if edge.labels])
        for label in labels:
            for node in placed.nodes.values():
                assert not label.overlaps(node.rect), (label, node.name)
        for index, label in enumerate(labels):
            for other in labels[index + 1:]:
                assert not label.overlaps(other), (label, other)
    assert render(picture, numbers).count("12 here") == len(picture.nodes)


def test_each_state_and_group_points_at_its_declaration():
    graph = shipped_flow().graph
    lines = SHIPPED.splitlines()
    for name, line in graph.lines.states.items():
        declared = lines[line - 1].strip()
        question = next((q for q in graph.spec.questions if q.state == name), None)
        assert declared == (f"- key: {question.key}" if question else f"- name: {name}"), name
    for name, line in graph.lines.groups.items():
        assert lines[line - 1].lstrip().startswith(f"{name}:"), name
    svg = render(drawing(graph), link=lambda line: f"/source#L{line}")
    assert f'<a href="/source#L{graph.lines.states["opted_out"]}">' in svg


def test_texts_in_the_svg_are_escaped():
    text = SHIPPED.replace("joined: [questions", "joined<&>: [questions", 1).replace("source: joined", "source: joined<&>")
    svg = render(drawing(parse_graph(text)))
    assert "joined&lt;&amp;&gt;" in svg and "joined<&>" not in svg


def test_inbound_records_keep_what_fired_and_the_console_counts_the_last_24_hours():
    store = SQLiteStore(":memory:")
    for event in fixture_events().values():
        store.put_event(event)
    chat = Conversation(make_engine(store))
    chat.send("hi, I'm at TOWNHALL")
    old_trace = chat.last.trace
    chat.clock.advance(hours=30)
    chat.send("Ada")
    recent_trace = chat.last.trace
    inbound = [item for item in store.iter_interactions() if item.direction == "in"]
    assert [item.transitions for item in inbound] == [old_trace, recent_trace]
    assert old_trace and recent_trace
    counted = fired_counts(store, chat.clock.now - timedelta(hours=24))
    assert counted == dict(Counter(trace_key(label) for label in recent_trace))
    everything = fired_counts(store, chat.clock.now - timedelta(hours=48))
    assert sum(everything.values()) == len(old_trace) + len(recent_trace)


def test_a_parked_message_keeps_the_transition_that_parked_it():
    """Back after a silence in two events: the message is parked, filed on the choice, and
    counts for `returned` then."""
    store = SQLiteStore(":memory:")
    for event in fixture_events().values():
        store.put_event(event)
    flow: Flow = shipped_flow()
    chat = Conversation(make_engine(store, flow))
    for body in ("hi, I'm at TOWNHALL", "Ada", "change event CLIMATE24", "yes", "34", "female", "Bath", "noted"):
        chat.send(body)
    chat.clock.advance(hours=30)
    chat.send("back again")
    parked_trace = chat.last.trace
    chat.send("1")
    filed = next(item for item in store.iter_interactions() if item.direction == "in" and item.text == "back again")
    assert filed.transitions == parked_trace
    returned = next(index for index, t in enumerate(flow.spec.transitions) if t.trigger == "returned")
    assert f"transitions[{returned}]" in {trace_key(label) for label in filed.transitions}
