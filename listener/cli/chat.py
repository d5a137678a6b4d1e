"""`listener chat`: play a participant in the terminal against the real engine and store.

Each line goes the way a WhatsApp message does: into the inbox, through the engine, its
replies into the outbox, printed here and marked sent. `/voice <text>` sends a voice note
as its transcript, `/wait 25h` moves the clock, `/state` shows the snapshot.

Each run is a new participant (a fictional number no one in the store has yet), so the
README's try-it command starts a conversation from the beginning every time; `--as
NUMBER` continues that participant's conversation, and the banner says which it is.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import secrets
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import TextIO

from listener.cli.common import CommandError, open_runtime
from listener.cli.events import read_event_file
from listener.models import InboundMessage
from listener.processing.processing import Processing
from listener.runtime import Runtime

WAIT = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
HELP = "commands: /voice <text>  /wait <N>[s|m|h|d]  /state  /quit   (anything else is a message)"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("chat", help="talk to the agent as a participant, in the terminal")
    parser.add_argument("--event-file", action="append", default=[], help="load this event first (repeatable)")
    parser.add_argument(
        "--as", dest="participant", metavar="NUMBER",
        help="continue this participant's conversation (default: a new participant each run, fictional +1555… number)",
    )
    parser.set_defaults(handler=run_chat)


class ChatSession:
    """A participant's side of the conversation, with a clock the user can move.

    Each message goes through the worker's processing (the model reads answers first when
    one is configured) and each reply through the composer, on one event loop.
    """

    def __init__(self, runtime: Runtime, participant: str, out: TextIO) -> None:
        self.runtime = runtime
        self.participant = participant
        self.out = out
        self.offset = timedelta()
        self._loop = asyncio.Runner()
        self._threads = ThreadPoolExecutor(1, thread_name_prefix="chat")
        self._processing = Processing(
            runtime.settings, runtime.store, runtime.engine, runtime.transcriber, runtime.reader,
            self._threads, claim=lambda replies: None,
        )

    def close(self) -> None:
        self._loop.run(self.runtime.close_model())
        self._loop.close()
        self._threads.shutdown()

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def send(self, body: str = "", transcript: str | None = None) -> None:
        message = InboundMessage(
            message_sid=f"SMchat{uuid.uuid4().hex[:26]}",
            participant=self.participant,
            body=body,
            transcript=transcript,
            received_at=self.now(),
        )
        store = self.runtime.store
        store.record_inbound(message)
        outcome = self._loop.run(self._processing.run(message))
        for reply in outcome.replies if outcome else []:
            text = self._loop.run(self.runtime.composer.compose(reply))
            print(f"agent> {text}", file=self.out)
            store.update_reply(reply.id, "sent")

    def handle(self, line: str) -> bool:
        """Act on one typed line; False when the user wants to leave."""
        line = line.rstrip("\n")
        if line.strip() in ("/quit", "/exit"):
            return False
        if line.startswith("/voice"):
            self.send(transcript=line[len("/voice"):].strip())
        elif line.startswith("/wait"):
            match = WAIT.match(line[len("/wait"):].strip())
            if not match:
                print("usage: /wait 25h (units s, m, h, d)", file=self.out)
            else:
                self.offset += timedelta(**{UNITS[match[2]]: float(match[1])})
                print(f"(clock moved to {self.now():%Y-%m-%d %H:%M} UTC)", file=self.out)
        elif line.strip() == "/state":
            snapshot = self.runtime.store.load_participant(self.participant)
            if snapshot is None:
                print("(no conversation yet)", file=self.out)
            else:
                print(f"(state: {snapshot.state}; event: {snapshot.current_event_id}; events: {', '.join(snapshot.events) or 'none'})", file=self.out)
        elif line.startswith("/"):
            print(HELP, file=self.out)
        elif line.strip():
            self.send(body=line)
        return True


FICTIONAL_PREFIX = "+155501"
"""Fictional numbers (the +1 555-01xx range), as in the README and the tests."""


def new_participant(runtime: Runtime) -> str:
    """A fictional number that has no conversation in the store yet."""
    while True:
        number = f"{FICTIONAL_PREFIX}{secrets.randbelow(100_000):05d}"
        if runtime.store.load_participant(number) is None:
            return number


def banner(runtime: Runtime, participant: str, continuing: bool) -> str:
    """Who the user plays, and how to come back to this conversation."""
    snapshot = runtime.store.load_participant(participant) if continuing else None
    if snapshot is not None:
        where = f"continuing: state {snapshot.state}, event {snapshot.current_event_id or 'none'}"
    else:
        where = "a new participant"
    return f"You are {participant} ({where}; to continue later: listener chat --as {participant})."


def run_chat(args: argparse.Namespace) -> int:
    events = [read_event_file(path).event for path in args.event_file]
    runtime = open_runtime()
    try:
        for event in events:
            runtime.store.put_event(event)
        known = ", ".join(event.event_id for event in runtime.store.list_events())
        if not known:
            raise CommandError("no events in the store: pass --event-file examples/climate24.yaml", exit_code=2)
        participant = args.participant or new_participant(runtime)
        print(f"{banner(runtime, participant, continuing=bool(args.participant))}\nEvents you can join: {known}.\n{HELP}")
        session = ChatSession(runtime, participant, sys.stdout)
        try:
            while True:
                try:
                    line = input("you> ")
                except EOFError:
                    break
                if not session.handle(line):
                    break
        finally:
            session.close()
    finally:
        runtime.close()
    return 0
