"""`listener events add|update FILE`, `list`, `show ID`, `close ID`: the events participants join.

`add` never overwrites and `update` never creates, so a typo in an event ID cannot
silently replace another event's configuration or start a new one. `update` keeps a
closed event closed unless the file says `closed: false`: closing is an operator's act
(`listener events close`), and an event file written before it does not mention it.
"""

from __future__ import annotations

import argparse
import json

from listener.cli.common import CommandError, flow_graph, flow_questions, opened_store
from listener.conversation.questions import Question
from listener.models import EventConfig
from listener.operators.eventfile import EventFile, EventFileError, load_event_file
from listener.store.ports import Events


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("events", help="add, update, list, show and close events")
    commands = parser.add_subparsers(dest="events_command", metavar="ACTION", required=True)
    add = commands.add_parser("add", help="add a new event from a YAML or JSON file")
    add.add_argument("file", help="event file: event_id plus the info document's fields")
    add.set_defaults(handler=add_event)
    update = commands.add_parser("update", help="replace an existing event's configuration from a file")
    update.add_argument("file", help="event file: event_id plus the info document's fields")
    update.set_defaults(handler=update_event)
    listing = commands.add_parser("list", help="list the events")
    listing.set_defaults(handler=list_events)
    show = commands.add_parser("show", help="print one event's configuration as JSON")
    show.add_argument("event_id", metavar="ID")
    show.set_defaults(handler=show_event)
    close = commands.add_parser("close", help="stop an event accepting new participants")
    close.add_argument("event_id", metavar="ID")
    close.set_defaults(handler=close_event)


def read_event_file(path: str) -> EventFile:
    """The event in a file, or an error naming the file and each bad field with its line;
    an event that lists a language the flow does not speak fully is refused, each text
    missing in it named with its line."""
    graph = flow_graph()
    try:
        loaded = load_event_file(path, [question.key for question in graph.spec.questions])
    except EventFileError as exc:
        raise CommandError(str(exc), exit_code=2) from exc
    problems = graph.language_problems(loaded.event.languages)
    if problems:
        raise CommandError("\n".join([f"{path}: languages: the flow cannot speak every language the event lists", *problems]),
                           exit_code=2)
    return loaded


def existing_event(store: Events, event_id: str) -> EventConfig:
    """The stored event, or a one-line error that lists what exists."""
    event = store.get_event(event_id)
    if event is None:
        known = ", ".join(e.event_id for e in store.list_events()) or "none yet"
        raise CommandError(f"no event {event_id!r} (events: {known})")
    return event


def add_event(args: argparse.Namespace) -> int:
    return _save_event(args.file, update=False)


def update_event(args: argparse.Namespace) -> int:
    return _save_event(args.file, update=True)


def _save_event(path: str, update: bool) -> int:
    """Store the file's event if it exists (`update`) or does not (`add`)."""
    loaded = read_event_file(path)
    event = loaded.event
    note = ""
    with opened_store() as store:
        stored = store.get_event(event.event_id)
        if stored is not None and not update:
            raise CommandError(f"event {event.event_id} exists already: use `listener events update {path}` to change it")
        if update and stored is None:
            raise CommandError(f"no event {event.event_id} to update: use `listener events add {path}` to create it")
        if stored is not None and stored.closed:
            if "closed" not in loaded.fields:
                event = event.model_copy(update={"closed": True})
                note = "; it stays closed (add `closed: false` to the file to reopen it)"
            elif not event.closed:
                note = "; reopened (the file says `closed: false`)"
        store.put_event(event)
    print(f"{'updated' if update else 'added'} event {event.event_id} ({event.display_name}){note}")
    return 0


def list_events(args: argparse.Namespace) -> int:
    with opened_store() as store:
        events = store.list_events()
    if not events:
        print("no events yet: add one with `listener events add FILE`")
        return 0
    questions = flow_questions()
    for event in events:
        asks = asked_questions(event, questions)
        status = "closed" if event.closed else "open"
        print(f"{event.event_id}\t{event.display_name}\t{status}\tasks: {', '.join(asks) or 'nothing'}")
    return 0


def show_event(args: argparse.Namespace) -> int:
    with opened_store() as store:
        event = existing_event(store, args.event_id)
    shown = {**event.model_dump(mode="json"), "asks": asked_questions(event, flow_questions())}
    print(json.dumps(shown, indent=2, ensure_ascii=False))
    return 0


def asked_questions(event: EventConfig, questions: list[Question]) -> list[str]:
    """The keys of the flow's questions this event asks, in the flow's order."""
    return [q.key for q in questions if event.extraction_settings.enabled(q.key, q.asked_by_default)]


def close_event(args: argparse.Namespace) -> int:
    with opened_store() as store:
        event = existing_event(store, args.event_id)
        if event.closed:
            print(f"event {event.event_id} was already closed")
            return 0
        store.put_event(event.model_copy(update={"closed": True}))
    print(f"closed event {event.event_id}: new participants are told it is closed; members can still send")
    return 0
