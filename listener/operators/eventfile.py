"""Read an event's configuration from a YAML or JSON file, with readable errors.

Every problem in the file is reported, each with its line: a field the configuration does
not have (`event_nmae:` would otherwise be dropped without a word, and the event would
run without its name), and every value that does not fit. The fields the file sets are
kept beside the configuration, so `listener events update` can tell a file that says
`closed: false` from one that says nothing about it.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from listener.models import EventConfig

QUESTION_SWITCH_SUFFIX = "_extraction"


class EventFileError(ValueError):
    """The file is missing, not YAML/JSON, or has bad fields (each named, with its line)."""


@dataclass(frozen=True)
class EventFile:
    """An event file's configuration, and the top-level fields the file itself sets."""

    event: EventConfig
    fields: frozenset[str]


def _key_lines(text: str) -> dict[tuple[str, ...], int]:
    """The line of each key of the mapping and of its nested mappings, by its path."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return {}
    lines: dict[tuple[str, ...], int] = {}

    def walk(node: yaml.Node, path: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                lines[(*path, str(key.value))] = key.start_mark.line + 1
                walk(value, (*path, str(key.value)))

    if root is not None:
        walk(root, ())
    return lines


def _did_you_mean(field: str, known: list[str]) -> str:
    close = difflib.get_close_matches(field, known, n=1, cutoff=0.75)
    return f" (did you mean {close[0]}?)" if close else ""


def _misplaced(data: dict[str, Any], question_keys: Sequence[str] | None) -> list[tuple[tuple[str, ...], str]]:
    """Fields the configuration has no place for: top-level ones it does not have, and in
    `extraction_settings` anything that is not a `<question>_extraction: true/false` switch
    of a question the flow declares (`question_keys`, when known)."""
    problems = [
        ((str(field),), "unknown field" + _did_you_mean(str(field), list(EventConfig.model_fields)))
        for field in data
        if field not in EventConfig.model_fields
    ]
    settings = data.get("extraction_settings")
    if isinstance(settings, dict):
        stems = list(question_keys or [])
        for key, value in settings.items():
            key = str(key)
            stem = key.removesuffix(QUESTION_SWITCH_SUFFIX)
            close = difflib.get_close_matches(stem.rstrip("_"), stems, n=1, cutoff=0.75)
            hint = f"did you mean {close[0]}{QUESTION_SWITCH_SUFFIX}?" if close else (
                f"the flow's questions: {', '.join(stems)}" if stems else f"a question's switch is <key>{QUESTION_SWITCH_SUFFIX}")
            if not key.endswith(QUESTION_SWITCH_SUFFIX):
                problems.append((("extraction_settings", key), f"unknown field ({hint})"))
            elif question_keys is not None and stem not in question_keys:
                problems.append((("extraction_settings", key), f"no question {stem!r} in the flow ({hint})"))
            elif value is not None and not isinstance(value, bool):
                problems.append((("extraction_settings", key), "a question's switch is true or false"))
    return problems


def _line(lines: dict[tuple[str, ...], int], loc: tuple[str, ...]) -> int:
    """The line of the deepest key of `loc` the file has; 0 when it has none (a missing field)."""
    for depth in range(len(loc), 0, -1):
        if loc[:depth] in lines:
            return lines[loc[:depth]]
    return 0


def load_event_file(path: str | Path, question_keys: Sequence[str] | None = None) -> EventFile:
    """The event a file describes; `question_keys` are the flow's questions, whose switches
    are the only ones `extraction_settings` may hold."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise EventFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise EventFileError(f"{path}: not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: {exc}") from exc
    if not isinstance(data, dict):
        raise EventFileError(f"{path}: expected a mapping with event_id and the event's fields")
    try:
        event: EventConfig | None = EventConfig.model_validate(data)
        invalid = []
    except ValidationError as exc:
        event = None
        invalid = [(tuple(str(part) for part in error["loc"]), error["msg"]) for error in exc.errors()]
    misplaced = _misplaced(data, question_keys)
    reported = {loc for loc, _ in misplaced}
    problems = misplaced + [(loc, message) for loc, message in invalid if loc not in reported]
    if event is None or problems:
        lines = _key_lines(text)
        located = sorted(((_line(lines, loc), loc, message) for loc, message in problems), key=lambda item: item[0])
        raise EventFileError(
            "\n".join(
                f"{path}{f':{line}' if line else ''}: {'.'.join(loc) or 'value'}: {message}"
                for line, loc, message in located
            )
        )
    return EventFile(event=event, fields=frozenset(str(field) for field in data))
