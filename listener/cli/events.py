"""`listener events add FILE` / `list`: the events participants can join."""

from __future__ import annotations

import argparse

from listener.cli.common import CommandError, open_runtime
from listener.eventfile import EventFileError, load_event_file


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("events", help="add and list events")
    commands = parser.add_subparsers(dest="events_command", metavar="ACTION", required=True)
    add = commands.add_parser("add", help="add (or replace) an event from a YAML or JSON file")
    add.add_argument("file", help="event file: event_id plus the info document's fields")
    add.set_defaults(handler=add_event)
    listing = commands.add_parser("list", help="list the events")
    listing.set_defaults(handler=list_events)


def add_event(args: argparse.Namespace) -> int:
    try:
        event = load_event_file(args.file)
    except EventFileError as exc:
        raise CommandError(str(exc), exit_code=2) from exc
    runtime = open_runtime()
    try:
        existed = runtime.store.get_event(event.event_id) is not None
        runtime.store.put_event(event)
    finally:
        runtime.close()
    print(f"{'updated' if existed else 'added'} event {event.event_id} ({event.display_name})")
    return 0


def list_events(args: argparse.Namespace) -> int:
    runtime = open_runtime()
    try:
        events = runtime.store.list_events()
    finally:
        runtime.close()
    if not events:
        print("no events yet: add one with `listener events add FILE`")
        return 0
    for event in events:
        asks = [field for field in ("name", "age", "gender", "region") if event.extraction_settings.enabled(field)]
        status = "closed" if event.closed else "open"
        print(f"{event.event_id}\t{event.display_name}\t{status}\tasks: {', '.join(asks) or 'nothing'}")
    return 0
