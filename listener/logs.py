"""Structured logs: one JSON object per line, tagged with the message being handled.

Heroku's router and log drains read one line per event; a JSON line keeps fields
searchable. The webhook and the worker set the MessageSid (the correlation id across
the request, the engine and the replies) and the masked sender in a context variable
while they handle a message, so every log line written meanwhile carries them without
each call passing them along. Message texts are never logged at INFO; numbers only masked.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone

from listener.masking import mask_phone

_CONTEXT: ContextVar[dict[str, str]] = ContextVar("listener_log_context", default={})
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
# Libraries that log every request at INFO, kept to their warnings. The twilio client logs
# each request's URL and headers, transitions every callback (dozens of lines per message);
# the HTTP clients log each URL, and a media redirect's URL is a signed link to the
# participant's voice note. The OpenAI SDK moved from `httpx` / `httpcore` to its fork
# `httpx2` / `httpcore2` (openai 3.x), which log under those names: both are listed.
CHATTY_LOGGERS = ("twilio", "transitions", "httpx", "httpcore", "httpx2", "httpcore2")


@contextmanager
def message_context(message_sid: str | None, participant: str | None = None) -> Iterator[None]:
    """Tag the log lines written inside the block with this message and its masked sender."""
    fields = {"message_sid": message_sid} if message_sid else {}
    if participant:
        fields["participant"] = mask_phone(participant)
    token = _CONTEXT.set({**_CONTEXT.get(), **fields})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", "message_sid", "participant", "error"}`."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_CONTEXT.get(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(log_format: str, level: str) -> None:
    """Send every logger (uvicorn's too) to standard output, as JSON or as plain text."""
    handler = logging.StreamHandler(sys.stdout)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for name in UVICORN_LOGGERS:
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    for chatty in CHATTY_LOGGERS:
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))
