"""Read an event's configuration from a YAML or JSON file, with readable errors."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from pydantic import ValidationError

from listener.errors import describe_validation_error
from listener.models import EventConfig


class EventFileError(ValueError):
    """The file is missing, not YAML/JSON, or has a bad field (named in the message)."""


def load_event_file(path: str | Path) -> EventConfig:
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
        return EventConfig.model_validate(data)
    except ValidationError as exc:
        raise EventFileError(describe_validation_error(exc, str(path))) from exc
