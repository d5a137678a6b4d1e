"""Getting an event's records out, in the formats analysis tools read.

Every format streams, so memory stays flat whatever the event's size. Rows go out in the
order messages were received, not the order they were stored: a message that arrives
during an inactivity prompt is held, and filed only once the participant says which
event it belongs to, after later rows. So the event's interactions pass through a
private temporary SQLite file on disk (a page at a time) and are read back by the time
they were received, then by the order they were stored. `tttc` (Talk to the City) is one
row per participant; it walks the event's profiles and reads one participant's messages
at a time, in the order they were received.

A reply said while the flow was routing (deciding what comes next, never waiting: the
welcome once onboarding is done) is exported with the waiting state the participant went
on to (the state their next message arrived in, or the one they are in now), or else
the one they were in when they wrote the message it answers: never an internal state.

Participants appear under a pseudonymous key by default (`listener.operators.privacy`); raw phone
numbers only when the caller asks for them. Nothing here prints or parses arguments, so
a web console can call it as the `listener export` command does.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import closing
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import Literal, TextIO

from pydantic import BaseModel

from listener.config import Settings
from listener.conversation.graph import Graph, load_graph
from listener.conversation.questions import Question
from listener.models import EventConfig, Interaction
from listener.operators.privacy import KEY_SECRET_NAME, participant_key
from listener.store.base import Store

ExportFormat = Literal["csv", "jsonl", "tttc"]
FORMATS: tuple[ExportFormat, ...] = ("csv", "jsonl", "tttc")

INTERACTION_COLUMNS = (
    "event", "participant", "id", "direction", "kind", "time", "text", "transcript", "media", "state", "language",
)
TTTC_FIXED_COLUMNS = ("comment-id", "comment-body", "interview")
LANGUAGE_COLUMN = "language"
SAID_WHILE_LISTENING = "contribution"
"""The interaction kind `tttc` keeps: not answers, commands or the bot's replies."""


class ExportRequest(BaseModel):
    """What to export: one event, a format, an optional time window, and how to name people."""

    event_id: str
    format: ExportFormat
    since: datetime | None = None
    until: datetime | None = None
    raw_numbers: bool = False


Progress = Callable[[int], None]


def participant_namer(store: Store, raw_numbers: bool) -> Callable[[str], str]:
    """How participants are named in an export: their key, or their number when asked."""
    if raw_numbers:
        return lambda number: number
    secret = store.secret(KEY_SECRET_NAME)
    return lambda number: participant_key(secret, number)


def said(interaction: Interaction) -> str:
    """The words of an interaction: the typed text, else a voice note's transcript."""
    return interaction.text or interaction.transcript or ""


def interaction_row(interaction: Interaction, event: EventConfig, name: Callable[[str], str]) -> dict:
    return {
        "event": event.event_id,
        "participant": name(interaction.participant),
        "id": interaction.id,
        "direction": interaction.direction,
        "kind": interaction.kind,
        "time": interaction.at.isoformat(),
        "text": interaction.text,
        "transcript": interaction.transcript,
        "media": [media.model_dump() for media in interaction.media],
        "state": interaction.state,
        "language": interaction.language,
    }


def interview_key(questions: Sequence[Question]) -> str | None:
    """The question whose answer names the speaker (Talk to the City's `interview`): the
    first that reads a person's name."""
    return next((q.key for q in questions if q.type == "text" and q.shape == "name"), None)


def tttc_columns(questions: Sequence[Question]) -> list[str]:
    """`comment-id`, `comment-body`, `interview`, then each declared question's answer in
    the flow's order (the name that fills `interview` left out), then the participant's
    `language`."""
    interview = interview_key(questions)
    return [*TTTC_FIXED_COLUMNS, *(q.key for q in questions if q.key != interview), LANGUAGE_COLUMN]


def _cell(value: object) -> object:
    return "" if value is None else value


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _spreadsheet_cell(value: object) -> object:
    """A participant's words that a spreadsheet would run as a formula (`=HYPERLINK(...)`)
    are written with a leading apostrophe: organisers open this file in spreadsheets.
    (The Talk to the City file is read by its pipeline as text and stays verbatim.)"""
    value = _cell(value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


SPOOL_PAGE = 500
INSERT = "INSERT INTO rows VALUES (?, ?, ?, ?, ?, ?, ?)"


@cache
def _graph_of(flow_file: Path) -> Graph:
    return load_graph(flow_file)


def configured_graph() -> Graph:
    """The configured flow (`FLOW_FILE`): its questions are the export's columns, its
    routing states (which never wait) are not shown as a reply's state."""
    return _graph_of(Path(Settings().flow_file))


def _micros(at: datetime) -> int:
    return int((at if at.tzinfo else at.replace(tzinfo=timezone.utc)).timestamp() * 1_000_000)


class _Lines:
    """A row as its line of the export's format (a CSV record or a JSON line)."""

    def __init__(self, format: ExportFormat) -> None:
        self.buffer = io.StringIO()
        self.csv = csv.DictWriter(self.buffer, fieldnames=INTERACTION_COLUMNS) if format == "csv" else None

    def _take(self) -> str:
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text

    def header(self) -> str:
        if self.csv is None:
            return ""
        self.csv.writeheader()
        return self._take()

    def line(self, row: dict) -> str:
        if self.csv is None:
            return json.dumps(row, ensure_ascii=False) + "\n"
        cells = {**row, "media": " ".join(media["url"] for media in row["media"])}
        self.csv.writerow({key: _spreadsheet_cell(value) for key, value in cells.items()})
        return self._take()


class _Spool:
    """The event's rows in a private temporary SQLite database (SQLite keeps it in a file
    it deletes on close, behind a small page cache), read back in the order they were
    received, ties in the order they were stored. A row is kept as its finished line;
    one said in a routing state is kept as data, its state to be settled on the way out."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.db = connection
        self.db.execute(
            "CREATE TABLE rows (at INTEGER, id TEXT, participant TEXT, direction TEXT, state TEXT, routed INTEGER,"
            " text TEXT)"
        )
        self.routed = 0

    def fill(self, rows: Iterable[tuple[Interaction, bool, str]]) -> None:
        """`rows`: each interaction, whether it was said in a routing state, and its text
        (the finished line, or the row as JSON when routed)."""
        page: list[tuple] = []
        for interaction, routed, text in rows:
            self.routed += routed
            page.append((
                _micros(interaction.at), interaction.id, interaction.participant, interaction.direction,
                interaction.state, routed, text,
            ))
            if len(page) >= SPOOL_PAGE:
                self.db.executemany(INSERT, page)
                page.clear()
        self.db.executemany(INSERT, page)
        if self.routed:
            self.db.execute("CREATE INDEX by_participant ON rows (participant, direction, at)")
            self.db.execute("CREATE INDEX by_id ON rows (id)")

    def in_received_order(self) -> Iterator[tuple[int, int, str, str, bool, str]]:
        yield from self.db.execute("SELECT at, rowid, id, participant, routed, text FROM rows ORDER BY at, rowid")

    def next_inbound_state(self, participant: str, at: int, seq: int) -> str | None:
        found = self.db.execute(
            "SELECT state FROM rows WHERE participant = ? AND direction = 'in' AND (at > ? OR (at = ? AND rowid > ?))"
            " ORDER BY at, rowid LIMIT 1",
            (participant, at, at, seq),
        ).fetchone()
        return found[0] if found else None

    def state_of(self, interaction_id: str) -> str | None:
        found = self.db.execute("SELECT state FROM rows WHERE id = ?", (interaction_id,)).fetchone()
        return found[0] if found else None


class _WaitingStates:
    """The waiting state a reply said while routing leaves the participant in (see the module)."""

    def __init__(self, store: Store, event: EventConfig, spool: _Spool, routing: Collection[str]) -> None:
        self.store = store
        self.event_key = event.event_id.casefold()
        self.spool = spool
        self.routing = routing
        self.now: dict[str, str | None] = {}

    def _state_now(self, participant: str) -> str | None:
        if participant not in self.now:
            snapshot = self.store.load_participant(participant)
            here = snapshot is not None and (snapshot.current_event_id or "").casefold() == self.event_key
            self.now[participant] = snapshot.state if here and snapshot is not None else None
        return self.now[participant]

    def of(self, interaction_id: str, participant: str, at: int, seq: int) -> str | None:
        answered = interaction_id.rsplit("-r", 1)[0]
        for state in (
            self.spool.next_inbound_state(participant, at, seq),
            self._state_now(participant),
            self.spool.state_of(answered) if answered != interaction_id else None,
        ):
            if state and state not in self.routing:
                return state
        return None


def _write_interactions(
    store: Store, request: ExportRequest, event: EventConfig, out: TextIO, name: Callable[[str], str],
    graph: Graph,
) -> Iterator[None]:
    routing = frozenset(state for state, spec in graph.states.items() if spec.routing)
    lines = _Lines(request.format)

    def spooled() -> Iterator[tuple[Interaction, bool, str]]:
        for interaction in store.iter_interactions(event.event_id, since=request.since, until=request.until):
            row = interaction_row(interaction, event, name)
            routed = interaction.state in routing
            yield interaction, routed, json.dumps(row, ensure_ascii=False) if routed else lines.line(row)

    with closing(sqlite3.connect("")) as connection:
        spool = _Spool(connection)
        spool.fill(spooled())
        states = _WaitingStates(store, event, spool, routing)
        out.write(lines.header())
        for at, seq, interaction_id, participant, routed, text in spool.in_received_order():
            if routed:
                row = json.loads(text)
                row["state"] = states.of(interaction_id, participant, at, seq) or row["state"]
                text = lines.line(row)
            out.write(text)
            yield


def spoken_language(store: Store, event: EventConfig, participant: str) -> str:
    """The language a participant is spoken to in at this event: their own (from their
    snapshot) where the event lists it, else the event's default."""
    snapshot = store.load_participant(participant)
    language = snapshot.language if snapshot is not None else None
    return language if language in event.languages else event.default_language


def _write_tttc(
    store: Store, request: ExportRequest, event: EventConfig, out: TextIO, name: Callable[[str], str],
    graph: Graph,
) -> Iterator[None]:
    """One row per participant who said something while listening (in the window), their
    words in the order and the language they said them (never translated), and the
    language they were spoken to in there (theirs where the event lists it, else the
    event's default)."""
    columns = tttc_columns(graph.spec.questions)
    interview = interview_key(graph.spec.questions)
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    for profile in store.iter_profiles(event.event_id):
        participant = profile["participant"]
        contributions = [
            (interaction.at, index, said(interaction))
            for index, interaction in enumerate(store.iter_interactions(
                event.event_id, participant=participant, since=request.since, until=request.until
            ))
            if interaction.direction == "in" and interaction.kind == SAID_WHILE_LISTENING and said(interaction)
        ]
        words = [text for _, _, text in sorted(contributions)]
        if not words:
            continue
        row = {"comment-id": name(participant), "comment-body": "\n".join(words),
               "interview": profile.get(interview) if interview else None}
        row.update({column: profile.get(column) for column in columns[len(TTTC_FIXED_COLUMNS):-1]})
        row[LANGUAGE_COLUMN] = spoken_language(store, event, participant)
        writer.writerow({key: _cell(value) for key, value in row.items()})
        yield


def export(
    store: Store,
    request: ExportRequest,
    event: EventConfig,
    out: TextIO,
    progress: Progress | None = None,
    graph: Graph | None = None,
) -> int:
    """Write the export to `out`; the number of rows written (header not counted).
    `graph` is the flow (default: the configured one): its declared questions are Talk to
    the City's columns, and its routing states are never shown as a reply's state."""
    name = participant_namer(store, request.raw_numbers)
    writer = _write_tttc if request.format == "tttc" else _write_interactions
    rows = 0
    for rows, _ in enumerate(writer(store, request, event, out, name, graph or configured_graph()), start=1):
        if progress is not None:
            progress(rows)
    return rows
