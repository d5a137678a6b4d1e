"""Getting an event's records out, in the formats analysis tools read.

Every format streams: interactions come from the store a page at a time and each row is
written as soon as it is read, so memory stays flat whatever the event's size. `tttc`
(Talk to the City) is one row per participant; it walks the event's profiles and reads
one participant's messages at a time.

Participants appear under a pseudonymous key by default (`listener.operators.privacy`); raw phone
numbers only when the caller asks for them. Nothing here prints or parses arguments, so
a web console can call it as the `listener export` command does.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Literal, TextIO

from pydantic import BaseModel

from listener.conversation.questions import Question
from listener.models import EventConfig, Interaction
from listener.operators.privacy import KEY_SECRET_NAME, participant_key
from listener.store.base import Store

ExportFormat = Literal["csv", "jsonl", "tttc"]
FORMATS: tuple[ExportFormat, ...] = ("csv", "jsonl", "tttc")

INTERACTION_COLUMNS = (
    "event", "participant", "id", "direction", "kind", "time", "text", "transcript", "media", "state",
)
TTTC_FIXED_COLUMNS = ("comment-id", "comment-body", "interview")
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
    }


def interview_key(questions: Sequence[Question]) -> str | None:
    """The question whose answer names the speaker (Talk to the City's `interview`): the
    first that reads a person's name."""
    return next((q.key for q in questions if q.type == "text" and q.shape == "name"), None)


def tttc_columns(questions: Sequence[Question]) -> list[str]:
    """`comment-id`, `comment-body`, `interview`, then each declared question's answer in
    the flow's order (the name that fills `interview` left out)."""
    interview = interview_key(questions)
    return [*TTTC_FIXED_COLUMNS, *(q.key for q in questions if q.key != interview)]


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


def _write_interactions(
    store: Store, request: ExportRequest, event: EventConfig, out: TextIO, name: Callable[[str], str],
    questions: Sequence[Question],
) -> Iterator[None]:
    stream = store.iter_interactions(event.event_id, since=request.since, until=request.until)
    if request.format == "jsonl":
        for interaction in stream:
            out.write(json.dumps(interaction_row(interaction, event, name), ensure_ascii=False) + "\n")
            yield
        return
    writer = csv.DictWriter(out, fieldnames=INTERACTION_COLUMNS)
    writer.writeheader()
    for interaction in stream:
        row = interaction_row(interaction, event, name)
        row["media"] = " ".join(media["url"] for media in row["media"])
        writer.writerow({key: _spreadsheet_cell(value) for key, value in row.items()})
        yield


def _write_tttc(
    store: Store, request: ExportRequest, event: EventConfig, out: TextIO, name: Callable[[str], str],
    questions: Sequence[Question],
) -> Iterator[None]:
    """One row per participant who said something while listening (in the window)."""
    columns = tttc_columns(questions)
    interview = interview_key(questions)
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    for profile in store.iter_profiles(event.event_id):
        participant = profile["participant"]
        words = [
            said(interaction)
            for interaction in store.iter_interactions(
                event.event_id, participant=participant, since=request.since, until=request.until
            )
            if interaction.direction == "in" and interaction.kind == SAID_WHILE_LISTENING and said(interaction)
        ]
        if not words:
            continue
        row = {"comment-id": name(participant), "comment-body": "\n".join(words),
               "interview": profile.get(interview) if interview else None}
        row.update({column: profile.get(column) for column in columns[len(TTTC_FIXED_COLUMNS):]})
        writer.writerow({key: _cell(value) for key, value in row.items()})
        yield


def export(
    store: Store,
    request: ExportRequest,
    event: EventConfig,
    out: TextIO,
    progress: Progress | None = None,
    questions: Sequence[Question] = (),
) -> int:
    """Write the export to `out`; the number of rows written (header not counted).
    `questions` are the flow's declared questions: their answers are Talk to the City's
    columns."""
    name = participant_namer(store, request.raw_numbers)
    writer = _write_tttc if request.format == "tttc" else _write_interactions
    rows = 0
    for rows, _ in enumerate(writer(store, request, event, out, name, questions), start=1):
        if progress is not None:
            progress(rows)
    return rows
