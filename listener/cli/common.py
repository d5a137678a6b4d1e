"""What the subcommands share: errors with exit codes, settings, opening the runtime."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from listener.config import Settings
from listener.conversation.flow import Flow
from listener.conversation.graph import FlowError, Graph
from listener.conversation.questions import Question
from listener.runtime import Runtime, build_runtime
from listener.store import Store, open_store


class CommandError(Exception):
    """A failure to report in one line; `exit_code` 1 = not found / failed, 2 = bad input."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def open_runtime(settings: Settings | None = None) -> Runtime:
    return build_runtime(settings or Settings())


@contextmanager
def opened_store(settings: Settings | None = None) -> Iterator[Store]:
    """Just the store `STORE_URL` names, closed afterwards: operator commands need no engine."""
    settings = settings or Settings()
    store = open_store(settings.store_url, settings)
    try:
        yield store
    finally:
        store.close()


def flow_graph(settings: Settings | None = None) -> Graph:
    """The checked graph of the flow `FLOW_FILE` names, or its error as a command's."""
    try:
        return Flow.from_file((settings or Settings()).flow_file).graph
    except FlowError as exc:
        raise CommandError(str(exc)) from exc


def flow_questions(settings: Settings | None = None) -> list[Question]:
    """The questions of the flow `FLOW_FILE` names (exports and event listings follow them)."""
    return flow_graph(settings).spec.questions
