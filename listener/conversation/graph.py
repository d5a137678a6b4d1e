"""Read `transitions.yaml` into a typed graph and check it before anything runs.

The file is the conversation: states, the triggers an inbound message can fire, guarded
transitions, routing states that decide where to go next, and every text the bot says.
A designer edits it; this module makes sure a mistake is reported as
`transitions.yaml:LINE: where: what` at start-up, never as a stuck participant later.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from listener.conversation.questions import Localized, Question
from listener.conversation.values import known_values, placeholders
from listener.conversation.wording import GuardWords, words_of
from listener.errors import describe_validation_error, first_validation_problem
from listener.languages import ENGLISH, LanguageTag, as_localized

CALLBACK_PATTERN = re.compile(r"^(?P<module>[a-z_][a-z0-9_]*)\.(?P<func>[a-z_][a-z0-9_]*)(?:\((?P<args>[^()]*)\))?$")
ANY_STATE = "*"
ANY_LANGUAGE = "*"
"""The key of a command's words written as one list: understood in every language."""
QUESTIONS_GROUP = "questions"
"""The group of every declared question's state, made by the loader."""


def normalise(text: str) -> str:
    """Fold case, accents, width forms and spacing so commands match however typed
    ("Menú", "menu", "CAMBIAR IDIOMA inglés")."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    text = unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))
    text = re.sub(r"\s+", " ", text).strip()
    return text.strip(" .!?¡¿,;:'\"-*_。！？，")


class FlowError(Exception):
    """The graph file is wrong; the message names the file, line and key at fault."""


def _as_list(value: Any) -> Any:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class CommandSpec(_Spec):
    """Words that fire a trigger in any state that handles it (`change name <name>`).

    `words` is one list understood whatever the participant's language, or a list per
    language (`{en: [help], es: [ayuda]}`); either way every word works for everyone,
    and `{commands}` shows the first word in the participant's language.
    """

    trigger: str
    words: dict[str, list[str]]
    argument: bool = False
    listed: bool = Field(default=True, description="shown by {commands} where it works")

    @field_validator("words", mode="before")
    @classmethod
    def _by_language(cls, value: Any) -> Any:
        if isinstance(value, list):
            return {ANY_LANGUAGE: value}
        return as_localized(value) if isinstance(value, dict) else value

    @field_validator("words")
    @classmethod
    def _some_words(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        if not any(value.values()):
            raise ValueError("a command needs at least one word")
        return value

    @property
    def per_language(self) -> bool:
        return ANY_LANGUAGE not in self.words

    def all_words(self) -> list[str]:
        return [word for words in self.words.values() for word in words]

    def word_in(self, language: str) -> str:
        """The word `{commands}` shows a participant who speaks `language`."""
        words = self.words.get(language) or self.words.get(ANY_LANGUAGE) or self.all_words()
        return words[0]


class SilenceSpec(_Spec):
    """Fire `trigger` when a message follows the previous one after this long."""

    trigger: str
    after_hours: float = Field(gt=0)


class InboundSpec(_Spec):
    """How one inbound message becomes one trigger: commands, then silence, then media."""

    commands: list[CommandSpec] = Field(default_factory=list)
    after_silence: SilenceSpec | None = None
    media_only: str | None = None
    message: str = "message"
    on_message: list[str] = Field(
        default_factory=list, description="callbacks run on every message before its trigger fires"
    )

    @field_validator("on_message", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return _as_list(value)

    def triggers(self) -> set[str]:
        names = {command.trigger for command in self.commands} | {self.message}
        if self.after_silence:
            names.add(self.after_silence.trigger)
        if self.media_only:
            names.add(self.media_only)
        return names


class TextSpec(_Spec):
    """A text the bot says, in each language the flow ships (a list rotates); `from_event`
    names the event field that overrides it."""

    text: Localized
    from_event: str | None = None


class _Callbacks(_Spec):
    conditions: list[str] = Field(default_factory=list)
    unless: list[str] = Field(default_factory=list)
    before: list[str] = Field(default_factory=list)
    after: list[str] = Field(default_factory=list)

    @field_validator("conditions", "unless", "before", "after", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return _as_list(value)


class RouteSpec(_Callbacks):
    """One way out of a routing state; the first whose guards pass is taken.

    `questions: GUARD` stands for one route per declared question, in their order, to the
    question's state, guarded by `GUARD(key)` (the loader writes them out).
    """

    dest: str | None = None
    questions: str | None = None

    @field_validator("questions")
    @classmethod
    def _plain_guard(cls, value: str | None) -> str | None:
        if value is not None and "(" in value:
            raise ValueError("name the guard alone (module.function); the loader passes it each question's key")
        return value


class StateSpec(_Spec):
    """A state of the conversation and what it means to the engine."""

    name: str
    description: str = ""
    routes: list[RouteSpec] = Field(default_factory=list)
    prompt: str | None = None
    reprompt: str | None = None
    ask: str | None = None
    answer: str | None = None
    records: str = "onboarding"
    max_attempts: int | None = Field(default=None, ge=1)
    on_enter: list[str] = Field(default_factory=list)
    on_exit: list[str] = Field(default_factory=list)

    @field_validator("on_enter", "on_exit", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return _as_list(value)

    @property
    def routing(self) -> bool:
        """A routing state decides where to go and never waits for a message."""
        return bool(self.routes)


class TransitionSpec(_Callbacks):
    """`trigger` moves `source` to `dest` (null: stay, as an internal transition)."""

    trigger: str
    source: str | list[str]
    except_: list[str] = Field(default_factory=list, alias="except")
    dest: str | None

    @field_validator("except_", mode="before")
    @classmethod
    def _listify_except(cls, value: Any) -> Any:
        return _as_list(value)


class FlowSettings(_Spec):
    max_attempts: int = Field(default=3, ge=1)


class QuestionStateSpec(_Spec):
    """What every question's state is made of, besides its question (`questions:`)."""

    answer: str = "profile.read_answer"
    records: str = "answer"
    on_enter: list[str] = Field(default_factory=list)
    on_exit: list[str] = Field(default_factory=list)

    @field_validator("on_enter", "on_exit", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return _as_list(value)


class GraphSpec(_Spec):
    """The whole file. `languages` are the ones it ships, the default first, each with
    the names people call it by (`language español`); every text is in each."""

    languages: dict[LanguageTag, list[str]] = Field(default_factory=lambda: {ENGLISH: ["English"]}, min_length=1)
    initial: str
    behaviour: str = "states"
    settings: FlowSettings = Field(default_factory=FlowSettings)
    groups: dict[str, list[str]] = Field(default_factory=dict)
    inbound: InboundSpec
    questions: list[Question] = Field(default_factory=list)
    question_state: QuestionStateSpec = Field(default_factory=QuestionStateSpec)
    texts: dict[str, TextSpec]
    states: list[StateSpec] = Field(min_length=1)
    transitions: list[TransitionSpec] = Field(min_length=1)

    @field_validator("texts", mode="before")
    @classmethod
    def _plain_texts(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        return {
            key: text if isinstance(text, dict) and "text" in text else {"text": text}
            for key, text in value.items()
        }

    @field_validator("languages")
    @classmethod
    def _named(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for tag, names in value.items():
            if not names:
                raise ValueError(f"{tag}: give the language's own name (and the names people call it by)")
        return value


@dataclass(frozen=True)
class Callback:
    """A resolved `module.function(args)` reference from the graph, with the function's
    name, the graph's arguments and its plain words (for the diagram)."""

    reference: str
    function: Callable[..., Any]
    name: str = ""
    args: tuple[str, ...] = ()
    words: GuardWords | None = None


@dataclass(frozen=True)
class GraphLines:
    """Where things were declared in the file, for `transitions.yaml:LINE` links: a
    question's state is declared by its `questions:` entry, the loader's `questions`
    group by the `questions:` key."""

    states: dict[str, int]
    groups: dict[str, int]
    transitions: list[int]


@dataclass(frozen=True)
class QuestionRoutes:
    """The routes the loader wrote out of one `questions: GUARD` route: `count` routes
    from index `first` of the routing state's routes, one per question, in order."""

    first: int
    count: int
    guard: str


def text_keys(function: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a behaviour function whose graph arguments are text keys, so the loader checks them."""
    function.takes_text_keys = True  # type: ignore[attr-defined]
    return function


YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML was built with it (its wheels are): the pure-Python one
takes ten times as long, and the flow is loaded at every start and in every mutation test."""


class _Lines:
    """Maps a path of keys and indexes in the YAML document to its line number."""

    def __init__(self, text: str) -> None:
        self.lines: dict[tuple, int] = {}
        node = yaml.compose(text, Loader=YAML_LOADER)
        if node is not None:
            self._walk(node, ())

    def _walk(self, node: yaml.Node, path: tuple) -> None:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                name = key.value
                self.lines.setdefault((*path, name), key.start_mark.line + 1)
                self._walk(value, (*path, name))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._walk(item, (*path, index))

    def line(self, path: tuple) -> int | None:
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())


@dataclass(frozen=True)
class MissingText:
    """A text a declared language has no words for, and where it was declared."""

    what: str
    key: str
    line: int


@dataclass
class Graph:
    """A checked graph: the spec plus every callback resolved to a function."""

    spec: GraphSpec
    source: str
    callbacks: dict[str, Callback]
    states: dict[str, StateSpec]
    lines: GraphLines | None = None
    question_routes: dict[str, list[QuestionRoutes]] | None = None
    missing: dict[str, list[MissingText]] = field(default_factory=dict)
    """By declared language, the texts not written in it (none for a complete one)."""
    text: str = ""

    def callback(self, reference: str) -> Callable[..., Any]:
        return self.callbacks[reference].function

    def expand_sources(self, transition: TransitionSpec) -> list[str]:
        """The waiting states a transition leaves from (`*` is every waiting state)."""
        sources = self.expand_names(_as_list(transition.source))
        if ANY_STATE in sources:
            sources = [name for name, state in self.states.items() if not state.routing]
        excluded = set(self.expand_names(transition.except_))
        return [name for name in sources if name not in excluded]

    def expand_names(self, names: list[str]) -> list[str]:
        """State names with each group name replaced by the states it lists (a group may
        list other groups)."""
        expanded: list[str] = []
        for name in names:
            if name in self.spec.groups:
                expanded.extend(self.expand_names(self.spec.groups[name]))
            else:
                expanded.append(name)
        return list(dict.fromkeys(expanded))

    def complete_languages(self) -> list[str]:
        """The declared languages every text is written in, the default first: the only
        ones the agent speaks."""
        return [tag for tag in self.spec.languages if not self.missing.get(tag)]

    def language_problems(self, listed: list[str]) -> list[str]:
        """For languages an event lists, each one the flow does not declare and each text
        missing in one, with its line ("transitions.yaml:512: text 'ask_event_id' has no fr")."""
        problems = []
        for tag in listed:
            if tag not in self.spec.languages:
                problems.append(f"{self.source}: {tag} is not among the flow's languages "
                                f"({', '.join(self.spec.languages)}): declare it under languages: and write every text in it")
                continue
            problems += [f"{self.source}:{gap.line}: {gap.key}: {gap.what} has no {tag}" for gap in self.missing.get(tag, [])]
        return problems

    @property
    def questions(self) -> dict[str, Question]:
        """The declared questions by key."""
        return {question.key: question for question in self.spec.questions}


def load_graph(path: str | Path) -> Graph:
    """Read, validate and resolve a graph file; raise `FlowError` naming the line at fault."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FlowError(f"{path}: cannot read the flow file: {exc.strerror or exc}") from exc
    return parse_graph(text, str(path))


def parse_graph(text: str, source: str = "transitions.yaml") -> Graph:
    try:
        data = yaml.load(text, Loader=YAML_LOADER)
        lines = _Lines(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise FlowError(f"{source}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, dict):
        raise FlowError(f"{source}: the flow file must be a mapping with states and transitions")
    try:
        spec = GraphSpec.model_validate(data)
    except ValidationError as exc:
        loc, _ = first_validation_problem(exc)
        raise FlowError(describe_validation_error(exc, f"{source}:{lines.line(loc)}")) from exc
    graph = _Checker(spec, source, lines).check()
    graph.text = text
    return graph


class _Checker:
    """The semantic checks a schema cannot express."""

    def __init__(self, spec: GraphSpec, source: str, lines: _Lines) -> None:
        self.spec = spec
        self.source = source
        self.lines = lines
        self.callbacks: dict[str, Callback] = {}
        self.origins: dict[tuple, tuple] = {}
        """Where the loader's own states and routes were declared (a question, a route)."""
        self.question_routes: dict[str, list[QuestionRoutes]] = {}
        self.missing: dict[str, list[MissingText]] = {}
        self.declared = GraphLines(
            states={
                **{state.name: lines.line(("states", index)) or 0 for index, state in enumerate(spec.states)},
                **{question.state: lines.line(("questions", index)) or 0 for index, question in enumerate(spec.questions)},
            },
            groups={
                **{name: lines.line(("groups", name)) or 0 for name in spec.groups},
                QUESTIONS_GROUP: lines.line(("questions",)) or 0,
            },
            transitions=[lines.line(("transitions", index)) or 0 for index in range(len(spec.transitions))],
        )

    def fail(self, path: tuple, message: str) -> None:
        where, line = self.where(path)
        raise FlowError(f"{self.source}:{line or None}: {where}: {message}")

    def _write_out_questions(self) -> None:
        """Each declared question becomes its state (after the routing state that routes to
        the questions), its two texts, its route, and a member of the `questions` group."""
        spec = self.spec
        keys = [question.key for question in spec.questions]
        for index, key in enumerate(keys):
            if keys.index(key) != index:
                self.fail(("questions", index, "key"), f"question {key!r} is declared twice")
        if QUESTIONS_GROUP in spec.groups:
            self.fail(("groups", QUESTIONS_GROUP), f"the group {QUESTIONS_GROUP!r} is made from questions: (do not list it)")
        template = spec.question_state
        made_states: list[StateSpec] = []
        for index, question in enumerate(spec.questions):
            for key, text in ((question.ask_text, question.ask), (question.reask_text, question.reask)):
                if text is None:
                    continue
                if key in spec.texts:
                    self.fail(("texts", key), f"text {key!r} is the question {question.key!r}'s own: write it under questions:")
                spec.texts[key] = TextSpec(text=text)
                self.origins[("texts", key)] = ("questions", index, "ask" if key == question.ask_text else "reask")
            made_states.append(StateSpec(
                name=question.state,
                description=f"Asked the question {question.key!r}; waits for the answer.",
                ask=question.key,
                answer=template.answer,
                prompt=question.ask_text,
                reprompt=question.reask_text if question.reask is not None else None,
                records=template.records,
                max_attempts=question.attempts,
                on_enter=list(template.on_enter),
                on_exit=list(template.on_exit),
            ))
        routers = [
            (state_index, route_index, route.questions)
            for state_index, state in enumerate(spec.states)
            for route_index, route in enumerate(state.routes)
            if route.questions is not None
        ]
        if spec.questions and not routers:
            self.fail(("questions",), "no routing state routes to the questions: add `- questions: profile.still_to_ask` to its routes")
        for state_index, route_index, guard in reversed(routers):
            state = spec.states[state_index]
            route = state.routes[route_index]
            for later in range(route_index + 1, len(state.routes)):
                self.origins[("states", state_index, "routes", later + len(spec.questions) - 1)] = (
                    "states", state_index, "routes", later)
            written = [
                route.model_copy(update={"questions": None, "dest": question.state,
                                         "conditions": [*route.conditions, f"{guard}({question.key})"]})
                for question in spec.questions
            ]
            state.routes[route_index:route_index + 1] = written
        for state_index, route_index, guard in routers:
            made = self.question_routes.setdefault(spec.states[state_index].name, [])
            first = route_index + len(made) * (len(spec.questions) - 1)
            made.append(QuestionRoutes(first=first, count=len(spec.questions), guard=guard))
        insert_at = routers[0][0] + 1 if routers else len(spec.states)
        declared = len(spec.states)
        spec.states[insert_at:insert_at] = made_states
        for offset in range(len(made_states)):
            self.origins[("states", insert_at + offset)] = ("questions", offset)
        for index in range(insert_at, declared):
            self.origins[("states", index + len(made_states))] = ("states", index)
        for state_index, route_index, _ in routers:
            for offset in range(1, len(spec.questions)):
                self.origins[("states", state_index, "routes", route_index + offset)] = ("states", state_index, "routes", route_index)
        spec.groups[QUESTIONS_GROUP] = [question.state for question in spec.questions]

    def check(self) -> Graph:
        self._write_out_questions()
        spec = self.spec
        states: dict[str, StateSpec] = {}
        for index, state in enumerate(spec.states):
            if state.name in states:
                self.fail(("states", index, "name"), f"state {state.name!r} is declared twice")
            states[state.name] = state
        graph = Graph(
            spec=spec, source=self.source, callbacks=self.callbacks, states=states,
            lines=self.declared, question_routes=self.question_routes, missing=self.missing,
        )
        if spec.initial not in states:
            self.fail(("initial",), f"unknown state {spec.initial!r}")
        if states[spec.initial].routing:
            self.fail(("initial",), "the initial state must wait for a message, not route")
        self._check_texts()
        self._check_languages()
        for group, members in spec.groups.items():
            if group in states:
                self.fail(("groups", group), f"group {group!r} has the name of a state")
            for index, name in enumerate(members):
                if name not in states and name not in spec.groups:
                    self.fail(("groups", group, index), f"unknown state or group {name!r}")
        self._check_group_cycles()
        self._resolve_all(("inbound",), spec.inbound, ("on_message",))
        self._check_states(states)
        self._check_transitions(graph)
        self._check_paths(graph)
        self._check_commands_where_answers_are_taken(graph)
        self._check_placeholders()
        return graph

    def _check_commands_where_answers_are_taken(self, graph: Graph) -> None:
        """A state that takes answers must take every command: left out, `finish` or
        `help` sent there would be stored as the answer."""
        commands = [command.trigger for command in self.spec.inbound.commands]
        handled: dict[str, set[str]] = {name: set() for name in graph.states}
        sources_of: dict[str, list[str]] = {trigger: [] for trigger in commands}
        for transition in self.spec.transitions:
            for name in graph.expand_sources(transition):
                handled[name].add(transition.trigger)
            if transition.trigger in sources_of:
                sources_of[transition.trigger].extend(_as_list(transition.source))
        for index, state in enumerate(self.spec.states):
            missing = [trigger for trigger in commands if trigger not in handled[state.name]] if state.ask else []
            if missing:
                groups = sorted({source for trigger in missing for source in sources_of[trigger] if source in self.spec.groups})
                hint = (f": add it to the group {' or '.join(repr(group) for group in groups)}" if groups
                        else f": give {', '.join(missing)} a transition from it")
                self.fail(("states", index, "name"), f"state {state.name!r} takes answers, but {', '.join(missing)} sent there would be stored as the answer{hint}")

    def _check_placeholders(self) -> None:
        """Every `{name}` in a text is a value something fills (a registered value or a
        question's answer): a typo such as `{nmae}` must not load."""
        package = importlib.import_module(self.spec.behaviour)
        for module in pkgutil.iter_modules(getattr(package, "__path__", [])):
            importlib.import_module(f"{self.spec.behaviour}.{module.name}")
        known = known_values(question.key for question in self.spec.questions)
        for key, text in self.spec.texts.items():
            for variant in (written for texts in text.text.values() for written in _as_list(texts)):
                for name in placeholders(variant):
                    if name not in known:
                        close = difflib.get_close_matches(name, sorted(known), n=1)
                        hint = f" (did you mean {{{close[0]}}}?)" if close else f" (known: {', '.join(sorted(known))})"
                        self.fail(("texts", key), f"{{{name}}} is not a value any text can use{hint}")

    def _check_group_cycles(self) -> None:
        def visit(group: str, path: tuple[str, ...]) -> None:
            for member in self.spec.groups.get(group, []):
                if member in path:
                    self.fail(("groups", group), f"group {group!r} contains itself (through {member!r})")
                visit(member, (*path, member))

        for group in self.spec.groups:
            visit(group, (group,))

    def _check_texts(self) -> None:
        for key, text in self.spec.texts.items():
            for language, variant in text.text.items():
                if isinstance(variant, list) and not variant:
                    self.fail(("texts", key, language), "a list of texts needs at least one text")

    def where(self, path: tuple) -> tuple[str, int]:
        """The dotted key and line a path was declared at (a question's own text at the
        question's `ask:`/`reask:`)."""
        for made in sorted(self.origins, key=len, reverse=True):
            if path[: len(made)] == made:
                path = (*self.origins[made], *path[len(made):])
                break
        return ".".join(str(part) for part in path), self.lines.line(path) or 0

    def _written_in(self, path: tuple, given: list[str], what: str) -> None:
        """`given` (languages) has the flow's default language, and only languages the
        flow declares; each other declared language it lacks is noted as missing."""
        declared = list(self.spec.languages)
        default = declared[0]
        if default not in given:
            self.fail(path, f"{what} has no words in {default}, the flow's default language (the first of languages: "
                            "at the top): every text is written at least in it")
        for tag in given:
            if tag not in self.spec.languages:
                self.fail((*path, tag), f"{what} is written in {tag}, which the flow does not declare: add it to "
                                        f"languages: at the top (declared: {', '.join(declared)})")
        key, line = self.where(path)
        for tag in declared:
            if tag not in given:
                self.missing.setdefault(tag, []).append(MissingText(what=what, key=key, line=line))

    def _check_languages(self) -> None:
        """Every text and question in the default language and, where it is written in
        others, in declared ones (what a declared language lacks is kept: an event may
        list only languages with nothing missing); no command word that fires two
        different commands."""
        for key, text in self.spec.texts.items():
            self._written_in(("texts", key), [tag for tag, variant in text.text.items() if variant], f"text {key!r}")
        for index, question in enumerate(self.spec.questions):
            for option, languages in getattr(question, "synonym_languages", {}).items():
                for tag in languages:
                    if tag not in self.spec.languages:
                        self.fail(("questions", index, "options", option, tag),
                                  f"option {option!r}'s synonyms are written in {tag}, which the flow does not declare")
        triggers: dict[str, str] = {}
        for index, command in enumerate(self.spec.inbound.commands):
            path = ("inbound", "commands", index, "words")
            for tag in command.words:
                if tag != ANY_LANGUAGE and tag not in self.spec.languages:
                    self.fail((*path, tag), f"command {command.trigger!r} has words in {tag}, which the flow does not declare")
            for word in command.all_words():
                other = triggers.setdefault(normalise(word), command.trigger)
                if other != command.trigger:
                    self.fail(path, f"{word!r} is a word of both {other!r} and {command.trigger!r}")

    def _text_key(self, path: tuple, key: str | None) -> None:
        if key is not None and key not in self.spec.texts:
            self.fail(path, f"no text {key!r} under texts:")

    def _resolve(self, path: tuple, reference: str) -> None:
        if reference in self.callbacks:
            return
        match = CALLBACK_PATTERN.match(reference.strip())
        if not match:
            self.fail(path, f"{reference!r} is not a callback: write module.function or module.function(arg, ...)")
        module_name = f"{self.spec.behaviour}.{match['module']}"
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            self.fail(path, f"{reference!r}: cannot import {module_name}: {exc}")
        function = getattr(module, match["func"], None)
        if not callable(function):
            self.fail(path, f"{reference!r}: {module_name} has no function {match['func']!r}")
        args = [arg.strip().strip("'\"") for arg in (match["args"] or "").split(",") if arg.strip()]
        if getattr(function, "takes_text_keys", False):
            for arg in args:
                self._text_key(path, arg)
        resolved = partial(_call_with_args, function, tuple(args)) if args else function
        self.callbacks[reference] = Callback(reference, resolved, match["func"], tuple(args), words_of(function))

    def _resolve_all(self, path: tuple, holder: Any, names: tuple[str, ...]) -> None:
        for name in names:
            for index, reference in enumerate(getattr(holder, name)):
                self._resolve((*path, name, index), reference)

    def _check_states(self, states: dict[str, StateSpec]) -> None:
        for index, state in enumerate(self.spec.states):
            path = ("states", index)
            self._text_key((*path, "prompt"), state.prompt)
            self._text_key((*path, "reprompt"), state.reprompt)
            self._resolve_all(path, state, ("on_enter", "on_exit"))
            if state.answer is not None:
                self._resolve((*path, "answer"), state.answer)
            if state.answer is not None and state.ask is None:
                self.fail((*path, "answer"), "a state with an answer parser must say which field it asks")
            for route_index, route in enumerate(state.routes):
                route_path = (*path, "routes", route_index)
                if route.dest is None:
                    self.fail(route_path, "a route needs a dest (or `questions: GUARD`)")
                if route.dest not in states:
                    self.fail((*route_path, "dest"), f"unknown state {route.dest!r}")
                if states[route.dest].routing:
                    self.fail((*route_path, "dest"), f"{route.dest!r} routes too: routes must end in a waiting state")
                self._resolve_all(route_path, route, ("conditions", "unless", "before", "after"))
            if state.routing and (state.routes[-1].conditions or state.routes[-1].unless):
                self.fail((*path, "routes", len(state.routes) - 1), "the last route must have no guard, so routing always finds a way")

    def _check_transitions(self, graph: Graph) -> None:
        known_triggers = self.spec.inbound.triggers()
        handles_message: dict[str, bool] = {}
        for index, transition in enumerate(self.spec.transitions):
            path = ("transitions", index)
            if transition.trigger not in known_triggers:
                self.fail((*path, "trigger"), f"unknown trigger {transition.trigger!r}: triggers come from inbound: ({', '.join(sorted(known_triggers))})")
            for name in graph.expand_names([*_as_list(transition.source), *transition.except_]):
                if name != ANY_STATE and name not in graph.states:
                    self.fail((*path, "source"), f"unknown state {name!r}")
                if name in graph.states and graph.states[name].routing:
                    self.fail((*path, "source"), f"{name!r} routes and never waits for a message")
            if transition.dest is not None and transition.dest not in graph.states:
                self.fail((*path, "dest"), f"unknown state {transition.dest!r}")
            if not graph.expand_sources(transition):
                self.fail((*path, "source"), "no state left to leave from")
            self._resolve_all(path, transition, ("conditions", "unless", "before", "after"))
            if transition.trigger == self.spec.inbound.message and not (transition.conditions or transition.unless):
                for name in graph.expand_sources(transition):
                    handles_message.setdefault(name, True)
        for index, state in enumerate(self.spec.states):
            if not state.routing and not handles_message.get(state.name):
                self.fail(("states", index, "name"), f"state {state.name!r} has no unguarded {self.spec.inbound.message!r} transition: some messages would go unanswered")

    def _check_paths(self, graph: Graph) -> None:
        edges: dict[str, set[str]] = {name: set() for name in graph.states}
        for transition in self.spec.transitions:
            for name in graph.expand_sources(transition):
                if transition.dest is not None:
                    edges[name].add(transition.dest)
        for name, state in graph.states.items():
            edges[name].update(route.dest for route in state.routes)
        seen, todo = {self.spec.initial}, [self.spec.initial]
        while todo:
            for dest in edges[todo.pop()]:
                if dest not in seen:
                    seen.add(dest)
                    todo.append(dest)
        for index, state in enumerate(self.spec.states):
            if state.name not in seen:
                self.fail(("states", index, "name"), f"state {state.name!r} cannot be reached from {self.spec.initial!r}")
            if not (edges[state.name] - {state.name}):
                self.fail(("states", index, "name"), f"state {state.name!r} has no way out: no transition leads to another state")


def _call_with_args(function: Callable[..., Any], args: tuple[str, ...], turn: Any) -> Any:
    return function(turn, *args)
