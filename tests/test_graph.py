"""The graph file: checks on the shipped transitions.yaml and the loader's error messages."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from harness import ROOT, shipped_flow

from listener.conversation.graph import FlowError, parse_graph
from listener.diagram.model import drawing
from listener.diagram.readme import PICTURE, picture_line
from listener.diagram.svg import render

SHIPPED = (ROOT / "transitions.yaml").read_text(encoding="utf-8")


def _edges(flow) -> dict[str, set[str]]:
    graph = flow.graph
    edges = {name: set() for name in graph.states}
    for transition in graph.spec.transitions:
        for source in graph.expand_sources(transition):
            if transition.dest:
                edges[source].add(transition.dest)
    for name, state in graph.states.items():
        edges[name].update(route.dest for route in state.routes)
    return edges


def _reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for dest in edges[todo.pop()]:
            if dest not in seen:
                seen.add(dest)
                todo.append(dest)
    return seen


@pytest.mark.parametrize("state", sorted(shipped_flow().graph.states))
def test_listening_is_reachable_from_every_state(state):
    assert "listening" in _reachable(_edges(shipped_flow()), state)


def test_commands_work_in_every_state_once_an_event_is_joined():
    flow = shipped_flow()
    joined = flow.graph.expand_names(["joined"])
    for command in ("change_name", "finish", "help", "stop"):
        for state in joined:
            assert command in flow.triggers_by_state[state], (command, state)
    assert "start" in flow.triggers_by_state["opted_out"]


def test_listener_package_names_no_conversation_state():
    states = set(shipped_flow().graph.states)
    for path in (ROOT / "listener").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert node.value not in states, f"{path} names the state {node.value!r}"


def test_every_text_the_behaviour_says_exists_in_the_graph():
    texts = set(shipped_flow().spec.texts)
    said = set()
    for path in (ROOT / "states").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("say", "render")
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                said.add(node.args[0].value)
    assert said, "found no texts said by states/"
    assert said <= texts, f"missing texts: {said - texts}"


def test_readme_diagram_is_generated_from_the_graph():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- flow-diagram:start.*?-->\n(.*?)<!-- flow-diagram:end -->", readme, re.S)
    assert match, "README has no generated diagram block"
    stale = "README diagram is stale: run `listener flow graph --write README.md`"
    assert match.group(1) == picture_line("transitions.yaml"), stale
    assert (ROOT / PICTURE).read_text(encoding="utf-8") == render(drawing(shipped_flow().graph)), stale


# the loader's errors name the line and the key at fault ----------------------------------


def _broken(old: str, new: str) -> str:
    assert old in SHIPPED, old
    return SHIPPED.replace(old, new, 1)


def _line_of(text: str, fragment: str) -> int:
    return text[: text.index(fragment)].count("\n") + 1


def _expect_error(text: str, pattern: str, line_fragment: str | None = None) -> None:
    with pytest.raises(FlowError) as caught:
        parse_graph(text)
    message = str(caught.value)
    assert re.search(pattern, message), message
    if line_fragment:
        assert f"transitions.yaml:{_line_of(text, line_fragment)}:" in message, message


def test_the_shipped_graph_loads():
    parse_graph(SHIPPED)


def test_unknown_state_in_a_transition_is_reported_with_its_line():
    text = _broken("    source: opted_out\n    dest: routing\n", "    source: opted_out\n    dest: rooting\n")
    _expect_error(text, r"transitions\.\d+\.dest: unknown state 'rooting'", "dest: rooting")


def test_unknown_source_state_is_reported():
    text = _broken("    source: listening\n    dest: null\n    after: listening.acknowledge", "    source: listenin\n    dest: null\n    after: listening.acknowledge")
    _expect_error(text, r"unknown state 'listenin'", "source: listenin\n")


def test_callback_that_does_not_resolve_is_reported():
    text = _broken("after: listening.acknowledge", "after: listening.acknowlege")
    _expect_error(text, r"states\.listening has no function 'acknowlege'", "listening.acknowlege")


def test_callback_in_a_missing_module_is_reported():
    text = _broken("on_exit: event.forget_pending_change", "on_exit: evnt.forget_pending_change")
    _expect_error(text, r"cannot import states\.evnt", "evnt.forget_pending_change")


def test_unknown_text_key_is_reported():
    text = _broken("after: replies.say(stopped)", "after: replies.say(stoped)")
    _expect_error(text, r"no text 'stoped'", "replies.say(stoped)")


def test_unreachable_state_is_reported():
    text = _broken("  - name: opted_out\n", "  - name: forgotten\n    description: nobody goes here\n  - name: opted_out\n")
    text += "\n"
    text = text.replace("transitions:\n", "transitions:\n  - trigger: message\n    source: forgotten\n    dest: listening\n", 1)
    _expect_error(text, r"state 'forgotten' cannot be reached", "name: forgotten")


def test_waiting_state_with_no_way_out_is_reported():
    text = _broken("  - trigger: start\n    source: opted_out\n    dest: routing\n", "  - trigger: start\n    source: opted_out\n    dest: null\n")
    _expect_error(text, r"state 'opted_out' has no way out", "name: opted_out")


def test_state_that_ignores_plain_messages_is_reported():
    text = _broken("  - trigger: message\n    source: opted_out\n    dest: null\n", "")
    _expect_error(text, r"'opted_out' has no unguarded 'message' transition", "name: opted_out")


def test_unknown_trigger_is_reported():
    text = _broken("\n  - trigger: finish\n", "\n  - trigger: finnish\n")
    _expect_error(text, r"unknown trigger 'finnish'", "trigger: finnish")


def test_routing_without_a_final_unguarded_route_is_reported():
    text = _broken("      - dest: listening\n\n", "      - dest: listening\n        unless: profile.welcomed\n\n")
    _expect_error(text, r"the last route must have no guard")


def test_schema_errors_name_the_key_and_line():
    text = _broken("  max_attempts: 3 ", "  max_attempts: three ")
    _expect_error(text, r"settings\.max_attempts: .*integer", "max_attempts: three")


def test_bad_yaml_names_the_line():
    text = SHIPPED.replace("initial: new", "initial: [new", 1)
    _expect_error(text, r"transitions\.yaml:\d+: not valid YAML")


def test_a_missing_file_is_a_clear_error(tmp_path):
    from listener.conversation.graph import load_graph

    with pytest.raises(FlowError, match="cannot read the flow file"):
        load_graph(Path(tmp_path / "nope.yaml"))


def test_the_graph_records_the_kind_the_talk_to_the_city_export_keeps():
    """The tttc export keeps the inbound messages of kind `contribution`; a graph whose
    states recorded another word would empty that export without an error."""
    from listener.operators.export import SAID_WHILE_LISTENING

    assert SAID_WHILE_LISTENING in {state.records for state in shipped_flow().graph.states.values()}


# a mistake in what the loader writes out (questions' states, texts and routes) is reported
# at the line the designer wrote, and says what would fix it --------------------------------


@pytest.mark.parametrize(("old", "new", "pattern", "line_fragment"), [
    pytest.param('en: "How old are you?', 'en: "How old are you, {nmae}?',
                 r"questions\.1\.ask: \{nmae\} is not a value any text can use \(did you mean \{name\}\?\)$",
                 "    ask:\n      en: \"How old are you, {nmae}", id="placeholder in a question's ask, a close match"),
    pytest.param('en: "Sorry, please send your age', 'en: "Sorry {zzqq}, please send your age',
                 r"questions\.1\.reask: \{zzqq\} is not a value any text can use \(known: age, attempt, .*, name, .*region\)$",
                 "    reask:\n      en: \"Sorry {zzqq}", id="placeholder in a question's reask, none close"),
    pytest.param("    prompt: confirm_event_change\n", "    prompt: confirm_event_chang\n",
                 r"states\.4\.prompt: no text 'confirm_event_chang'", "prompt: confirm_event_chang",
                 id="prompt of a state declared after the questions"),
    pytest.param("reprompt: rechoose_event", "reprompt: rechose_event",
                 r"states\.5\.reprompt: no text 'rechose_event'", "reprompt: rechose_event", id="reprompt"),
    pytest.param("answer: profile.read_answer", "answer: profile.read_answr",
                 r"questions\.0\.answer: 'profile\.read_answr': states\.profile has no function 'read_answr'",
                 "  - key: name", id="the answer reader every question's state takes"),
    pytest.param("unless: [profile.welcomed, profile.completed]", "unless: [profile.welcomd, profile.completed]",
                 r"states\.2\.routes\.3\.unless\.0: 'profile\.welcomd'", "unless: [profile.welcomd",
                 id="a route after the questions' routes"),
    pytest.param("questions: profile.still_to_ask ", "questions: profile.still_to_ak ",
                 r"states\.2\.routes\.2\.conditions\.0: 'profile\.still_to_ak\(name\)'", "questions: profile.still_to_ak",
                 id="the route that becomes one route per question"),
    pytest.param("joined: [questions, listening,", "joined: [listening,",
                 r"questions\.0\.name: state 'asking_name' takes answers, but change_name, change_event, finish, start "
                 r"sent there would be stored as the answer: add it to the group 'joined'$",
                 "  - key: name", id="questions left out of the group the commands work in"),
    pytest.param("        sw: [msaada, usaidizi, amri]\n", "        sw: [msaada, usaidizi, amri]\n        de: [hilfe]\n",
                 r"inbound\.commands\.3\.words\.de: command 'help' has words in de, which the flow does not declare",
                 "de: [hilfe]", id="command words in a language not declared"),
    pytest.param('      en: "How old are you?', '      de: "Wie alt bist du?"\n      en: "How old are you?',
                 r"questions\.1\.ask\.de: text 'ask_age' is written in de, which the flow does not declare: add it to "
                 r"languages: at the top \(declared: en, es, fr, pt, sw, zh-Hant\)", 'de: "Wie alt bist du?"',
                 id="a question's text in a language not declared"),
    pytest.param("        zh-Hant: [女性, 女生, 女]\n", "        zh-Hant: [女性, 女生, 女]\n        de: [Frau]\n",
                 r"questions\.2\.options\.female\.de: option 'female''s synonyms are written in de", "de: [Frau]",
                 id="a choice's synonyms in a language not declared"),
    pytest.param("  on_message: language.notice", "  on_message: language.notic",
                 r"inbound\.on_message\.0: 'language\.notic': states\.language has no function 'notic'", "on_message: language.notic",
                 id="the callback every message runs"),
    pytest.param("      - dest: listening\n\n", "      - dest: listening\n        conditions: profile.welcomed\n\n",
                 r"the last route must have no guard", None, id="a routing state whose last route has a condition"),
    pytest.param("  - trigger: message\n    source: opted_out\n    dest: null\n",
                 "  - trigger: message\n    source: opted_out\n    dest: null\n    unless: profile.welcomed\n",
                 r"'opted_out' has no unguarded 'message' transition", "name: opted_out",
                 id="a waiting state whose only message transition has an unless"),
    pytest.param("  before_event: [new, awaiting_event_id]", "  before_event: [new, awaiting_event_id, arriving]\n  arriving: [before_event]",
                 r"group '(arriving|before_event)' contains itself \(through '(arriving|before_event)'\)", None, id="groups that contain each other"),
    pytest.param('  stopped:\n    en: ', '  stopped:\n    # en: ', r"texts\.stopped: text 'stopped' has no words in en, the flow's default language",
                 "  stopped:", id="a text without the default language"),
])
def test_a_mistake_in_what_the_loader_writes_out_is_reported_where_it_was_written(old, new, pattern, line_fragment):
    _expect_error(_broken(old, new), pattern, line_fragment)


def test_language_problems_name_each_text_an_event_needs_and_each_language_not_declared():
    """What `listener flow check --event` and `events add` print for an event's languages."""
    french = '    fr: "Vous ne recevrez plus de messages'
    assert french in SHIPPED
    text = SHIPPED.replace(french, '    # fr: "Vous ne recevrez plus de messages', 1)
    graph = parse_graph(text)
    assert "fr" not in graph.complete_languages() and "es" in graph.complete_languages()
    assert graph.language_problems(["en", "es"]) == []
    assert [problem.split(": ", 1)[0] for problem in graph.language_problems(["de", "fr"])] == [
        "transitions.yaml", f"transitions.yaml:{_line_of(text, '  stopped:')}"], "a language not declared does not hide the next"
    assert graph.language_problems(["fr", "de", "en"]) == [
        f"transitions.yaml:{_line_of(text, '  stopped:')}: texts.stopped: text 'stopped' has no fr",
        "transitions.yaml: de is not among the flow's languages (en, es, fr, pt, sw, zh-Hant): "
        "declare it under languages: and write every text in it",
    ]


def _lines_starting(text: str, prefix: str) -> list[int]:
    return [number for number, line in enumerate(text.splitlines(), start=1) if line.startswith(prefix)]


def test_each_state_group_and_transition_links_to_the_line_that_declares_it():
    """The diagram's and the console's `transitions.yaml:LINE` links."""
    graph = parse_graph(SHIPPED)
    for name in ("new", "routing", "listening", "opted_out"):
        assert graph.lines.states[name] == _line_of(SHIPPED, f"  - name: {name}\n")
    assert graph.lines.states["asking_name"] == _line_of(SHIPPED, "  - key: name\n")
    assert graph.lines.states["asking_region"] == _line_of(SHIPPED, "  - key: region\n")
    assert graph.lines.groups == {"joined": _line_of(SHIPPED, "  joined: ["),
                                  "before_event": _line_of(SHIPPED, "  before_event: ["),
                                  "questions": _line_of(SHIPPED, "\nquestions:\n") + 1}
    assert graph.lines.transitions == _lines_starting(SHIPPED, "  - trigger: ")
    assert graph.text == SHIPPED, "the console's flow page shows the file as loaded"


def test_a_key_the_file_lacks_is_reported_at_the_documents_first_line():
    text = _broken("initial: new\n", "")
    _expect_error(text, r"^transitions\.yaml:\d+: initial: Field required", "languages:\n  en:")


def test_a_tab_names_its_own_line():
    text = _broken("initial: new\n", "initial: new\n\tbad: 1\n")
    _expect_error(text, r"^transitions\.yaml:\d+: not valid YAML: found a tab", "\tbad: 1")


def test_a_callback_is_kept_with_its_reference_name_and_arguments_quotes_taken_off():
    graph = parse_graph(_broken("after: replies.say(stopped)", "after: replies.say('stopped')"))
    callback = graph.callbacks["replies.say('stopped')"]
    assert (callback.reference, callback.name, callback.args) == ("replies.say('stopped')", "say", ("stopped",))


def test_a_character_yaml_cannot_read_is_reported_without_a_line():
    _expect_error(SHIPPED + "\x07", r"^transitions\.yaml: not valid YAML: unacceptable character", None)



def test_each_question_becomes_a_state_made_of_the_template_and_its_own_settings():
    region_reask = SHIPPED[SHIPPED.index("    reask:\n      en: \"Sorry, which region"):SHIPPED.index("\n# Every question's state")]
    text = _broken(region_reask, "").replace("    max_words: 8\n", "    max_words: 8\n    attempts: 2\n", 1)
    text = text.replace("  on_enter: replies.prompt\n\nstates:", "  on_enter: replies.prompt\n  on_exit: replies.prompt\n\nstates:", 1)
    graph = parse_graph(text)
    region, age = graph.states["asking_region"], graph.states["asking_age"]
    assert region.description == "Asked the question 'region'; waits for the answer."
    assert (region.ask, region.prompt, region.reprompt, region.max_attempts) == ("region", "ask_region", None, 2)
    assert (age.reprompt, age.max_attempts, age.records, age.answer) == ("reask_age", None, "answer", "profile.read_answer")
    assert (age.on_enter, age.on_exit) == (["replies.prompt"], ["replies.prompt"])
    [[routes]] = graph.question_routes.values()
    assert (routes.first, routes.count, routes.guard) == (2, 4, "profile.still_to_ask")
    assert [route.dest for route in graph.states["routing"].routes[2:6]] == [
        "asking_name", "asking_age", "asking_gender", "asking_region"]
    assert all(route.questions is None for route in graph.states["routing"].routes)
