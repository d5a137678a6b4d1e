"""Exports stream: 100,000 interactions go out through the real export code in every
format while Python's memory stays under a bound a full copy would break many times over."""

from __future__ import annotations

import csv
import time
import tracemalloc
from datetime import timedelta

import pytest
from harness import START, shipped_flow
from pydantic import TypeAdapter

from listener.conversation.questions import Question
from listener.models import (
    Answer,
    EventConfig,
    Interaction,
    Membership,
    Outcome,
    ParticipantSnapshot,
)
from listener.operators.export import ExportRequest, export, tttc_columns

PARTICIPANTS = 200
PER_PARTICIPANT = 500
TOTAL = PARTICIPANTS * PER_PARTICIPANT
MEMORY_BOUND = 8 * 1024 * 1024
"""Holding 100,000 interactions at once takes over 100 MB; a stream holds a page (500)."""


def number(n: int) -> str:
    return f"+1555040{n:04d}"


@pytest.fixture(scope="module")
def big_store(tmp_path_factory):
    """CLIMATE24 with 200 participants who said 500 things each, seeded one commit per
    participant (a seeding shortcut: the export under test reads through the real store)."""
    from listener.store.sqlite import SQLiteStore

    store = SQLiteStore(tmp_path_factory.mktemp("big") / "big.db")
    store.put_event(EventConfig(event_id="CLIMATE24", extraction_settings={"age_extraction": True}))
    for p in range(PARTICIPANTS):
        participant = number(p)
        joined = START + timedelta(seconds=p)
        membership = Membership(joined_at=joined, last_active_at=joined, messages=PER_PARTICIPANT)
        membership.answers["name"] = Answer(value=f"Person {p}", raw=f"Person {p}")
        snapshot = ParticipantSnapshot(
            participant=participant, state="state-a", current_event_id="CLIMATE24",
            events={"CLIMATE24": membership}, version=1,
        )
        said = [
            Interaction(id=f"SM{p:04d}{n:06d}", participant=participant, event_id="CLIMATE24", direction="in",
                        kind="contribution", text=f"thought {n} of person {p}", state="state-a",
                        at=joined + timedelta(minutes=n))
            for n in range(PER_PARTICIPANT)
        ]
        store.commit(Outcome(message_sid=f"SM-seed-{p}", snapshot=snapshot, expected_version=0,
                             interactions=said, touched_events=["CLIMATE24"]))
    yield store
    store.close()


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "tttc"])
def test_a_hundred_thousand_interactions_export_in_bounded_memory(big_store, tmp_path, fmt):
    event = big_store.get_event("CLIMATE24")
    big_store.secret("participant-key")  # made once, outside the measurement
    out_path = tmp_path / f"export.{fmt}"
    progress: list[int] = []
    started = time.monotonic()
    tracemalloc.start()
    try:
        with out_path.open("w", encoding="utf-8", newline="") as out:
            rows = export(big_store, ExportRequest(event_id="CLIMATE24", format=fmt), event, out, progress.append)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.monotonic() - started
    expected_rows = PARTICIPANTS if fmt == "tttc" else TOTAL
    assert rows == expected_rows and progress[-1] == expected_rows
    assert peak < MEMORY_BOUND, f"{fmt}: exporting {rows} rows held {peak / 1e6:.1f} MB"
    assert elapsed < 60, f"{fmt}: took {elapsed:.1f} s"
    with out_path.open(newline="") as written:
        records = sum(1 for _ in written) if fmt == "jsonl" else sum(1 for _ in csv.reader(written)) - 1
    assert records == expected_rows
    print(f"{fmt}: {rows} rows in {elapsed:.2f} s with tracemalloc on, peak {peak / 1e6:.2f} MB")


def test_tttc_columns_are_exactly_those_talk_to_the_city_reads(big_store, tmp_path):
    event = big_store.get_event("CLIMATE24")
    out_path = tmp_path / "tttc.csv"
    with out_path.open("w", encoding="utf-8", newline="") as out:
        export(big_store, ExportRequest(event_id="CLIMATE24", format="tttc"), event, out,
               graph=shipped_flow().graph)
    with out_path.open(newline="") as written:
        reader = csv.DictReader(written)
        first = next(reader)
    assert reader.fieldnames == ["comment-id", "comment-body", "interview", "age", "gender", "region", "language"]
    assert first["interview"] == "Person 0"
    assert first["comment-body"].split("\n") == [f"thought {n} of person 0" for n in range(PER_PARTICIPANT)]


def test_tttc_has_a_column_for_each_declared_question_but_the_name_in_interview():
    occupation = TypeAdapter(Question).validate_python({"key": "occupation", "type": "text", "ask": "Your job?"})
    questions = [*shipped_flow().spec.questions, occupation]
    assert tttc_columns(questions) == ["comment-id", "comment-body", "interview", "age", "gender", "region", "occupation", "language"]
