"""Turn library errors into the one-line messages users read."""

from __future__ import annotations

from pydantic import ValidationError


def first_validation_problem(exc: ValidationError) -> tuple[tuple, str]:
    """Where pydantic's first complaint is (a path of keys) and what it says."""
    error = exc.errors()[0]
    return tuple(error["loc"]), error["msg"]


def describe_validation_error(exc: ValidationError, source: str = "") -> str:
    """The first problem pydantic found, as `source: field.path: message`."""
    loc, message = first_validation_problem(exc)
    where = ".".join(str(part) for part in loc) or "value"
    prefix = f"{source}: " if source else ""
    return f"{prefix}{where}: {message}"
