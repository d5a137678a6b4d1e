"""Operator faults seen in the designer trial, through the real `listener` command: an
update that reopened a closed event, event files whose bad fields were ignored or reported
one at a time, exports whose time went backwards and whose welcome reply said `routing`,
and a chat that silently went on with the last run's conversation."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

from harness import ROOT, Clock, Conversation, make_engine
from operators_support import listener_process

from listener.store.sqlite import SQLiteStore

PARTICIPANT = "+15550300011"


def no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stderr, result.stderr


# events update ------------------------------------------------------------------------------


def test_updating_a_closed_event_keeps_it_closed_unless_the_file_says_closed_false(any_store, tmp_path):
    event_file = tmp_path / "pier.yaml"
    event_file.write_text("event_id: PIER-9\nevent_name: Pier consultation\n")
    assert listener_process(any_store, "events", "add", str(event_file), cwd=tmp_path).returncode == 0
    assert listener_process(any_store, "events", "close", "PIER-9", cwd=tmp_path).returncode == 0

    event_file.write_text("event_id: PIER-9\nevent_name: Pier consultation, day 2\n")
    kept = listener_process(any_store, "events", "update", str(event_file), cwd=tmp_path)
    assert kept.returncode == 0, kept.stderr
    assert "it stays closed (add `closed: false` to the file to reopen it)" in kept.stdout
    stored = any_store.get_event("PIER-9")
    assert stored.closed and stored.event_name == "Pier consultation, day 2"

    event_file.write_text("event_id: PIER-9\nevent_name: Pier consultation, day 3\nclosed: false\n")
    reopened = listener_process(any_store, "events", "update", str(event_file), cwd=tmp_path)
    assert reopened.returncode == 0 and "reopened (the file says `closed: false`)" in reopened.stdout
    assert not any_store.get_event("PIER-9").closed


def test_an_unknown_field_is_refused_naming_it_with_its_line(store, tmp_path):
    event_file = tmp_path / "typo.yaml"
    event_file.write_text("event_id: PIER-9\nevent_nmae: Pier consultation\n")
    result = listener_process(store, "events", "add", str(event_file), cwd=tmp_path)
    assert result.returncode == 2
    assert f"{event_file}:2: event_nmae: unknown field (did you mean event_name?)" in result.stderr
    no_traceback(result)
    assert store.get_event("PIER-9") is None


def test_every_bad_field_of_a_file_is_reported_each_with_its_line(store, tmp_path):
    before = store.get_event("CLIMATE24")
    event_file = tmp_path / "bad.yaml"
    event_file.write_text(
        "event_id: CLIMATE24\n"
        "event_nmae: Climate\n"
        "responses: chatty\n"
        "extraction_settings:\n"
        "  name_extraction: true\n"
        "  regoin: true\n"
        "  age_extraction: maybe\n"
        "  nmae_extraction: true\n"
        "interaction_limit: 0\n"
        "colour: green\n"
    )
    result = listener_process(store, "events", "update", str(event_file), cwd=tmp_path)
    assert result.returncode == 2
    reported = [line.removeprefix("listener: ") for line in result.stderr.splitlines()]
    assert reported == [
        f"{event_file}:2: event_nmae: unknown field (did you mean event_name?)",
        f"{event_file}:3: responses: Input should be 'llm', 'template' or 'silent'",
        f"{event_file}:6: extraction_settings.regoin: unknown field (did you mean region_extraction?)",
        f"{event_file}:7: extraction_settings.age_extraction: a question's switch is true or false",
        f"{event_file}:8: extraction_settings.nmae_extraction: no question 'nmae' in the flow (did you mean name_extraction?)",
        f"{event_file}:9: interaction_limit: Input should be greater than or equal to 1",
        f"{event_file}:10: colour: unknown field",
    ]
    assert store.get_event("CLIMATE24") == before


def test_a_json_event_file_with_an_unknown_field_is_refused_too(store, tmp_path):
    event_file = tmp_path / "typo.json"
    event_file.write_text('{"event_id": "PIER-9",\n "closd": true}\n')
    result = listener_process(store, "events", "add", str(event_file), cwd=tmp_path)
    assert result.returncode == 2 and f"{event_file}:2: closd: unknown field (did you mean closed?)" in result.stderr
    assert store.get_event("PIER-9") is None


# export -------------------------------------------------------------------------------------


def _two_events_then_back_after_a_day(store) -> Conversation:
    """Joins TOWNHALL, then CLIMATE24; after 25 hours a message is held while the
    participant is asked which event, and filed under CLIMATE24 once they choose it (after
    a reply that chose nothing, which is filed at once)."""
    chat = Conversation(make_engine(store), participant=PARTICIPANT, clock=Clock())
    for text in ("TOWNHALL", "Mo", "change event CLIMATE24", "yes", "Mo", "60", "man", "Hull"):
        chat.send(text)
    chat.clock.advance(hours=25)
    for text in ("I forgot to say: more trees", "7", "the first one", "and benches"):
        chat.send(text)
    return chat


def test_export_rows_follow_the_time_they_were_received(any_store, tmp_path):
    _two_events_then_back_after_a_day(any_store)
    stored = [i.text for i in any_store.iter_interactions("CLIMATE24") if i.direction == "in"]
    assert stored.index("I forgot to say: more trees") > stored.index("7"), "the store files the held message later"
    for fmt in ("jsonl", "csv"):
        result = listener_process(any_store, "export", "CLIMATE24", "--format", fmt, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        rows = (
            [json.loads(line) for line in result.stdout.splitlines()] if fmt == "jsonl"
            else list(csv.DictReader(io.StringIO(result.stdout)))
        )
        times = [row["time"] for row in rows]
        assert times == sorted(times), f"{fmt}: time goes backwards"
        said = [row["text"] for row in rows if row["direction"] == "in"]
        assert said[-4:] == ["I forgot to say: more trees", "7", "the first one", "and benches"], fmt


def test_the_welcome_is_exported_with_the_waiting_state_it_leaves_the_participant_in(any_store, tmp_path):
    _two_events_then_back_after_a_day(any_store)
    for event_id in ("TOWNHALL", "CLIMATE24"):
        routed = [i for i in any_store.iter_interactions(event_id) if i.state == "routing"]
        assert [i.text.split("!")[0] for i in routed] == ["Thanks, Mo"], "the flow welcomes while routing"
        result = listener_process(any_store, "export", event_id, "--format", "csv", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        rows = {row["id"]: row for row in csv.DictReader(io.StringIO(result.stdout))}
        assert "routing" not in {row["state"] for row in rows.values()}
        assert rows[routed[0].id]["state"] == "listening", event_id


def test_a_welcome_with_nothing_after_it_is_exported_with_the_state_the_participant_is_in(store, tmp_path):
    chat = Conversation(make_engine(store), participant=PARTICIPANT, clock=Clock())
    for text in ("TOWNHALL", "Mo"):
        chat.send(text)
    result = listener_process(store, "export", "TOWNHALL", "--format", "jsonl", cwd=tmp_path)
    welcome = json.loads(result.stdout.splitlines()[-1])
    assert welcome["text"].startswith("Thanks, Mo!") and welcome["state"] == chat.state == "listening"


# chat ---------------------------------------------------------------------------------------


def _chat(tmp_path, *args: str, stdin: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "STORE_URL": f"sqlite:///{tmp_path}/cli.db"}
    return subprocess.run(
        [sys.executable, "-m", "listener.cli", "chat", "--event-file", str(ROOT / "examples" / "climate24.yaml"), *args],
        input=stdin, capture_output=True, text=True, cwd=tmp_path, env=environment, timeout=60,
    )


def test_each_chat_starts_afresh_and_as_continues_a_conversation(tmp_path):
    first = _chat(tmp_path, stdin="hi, I'm at CLIMATE24\nAlex\n/quit\n")
    assert first.returncode == 0, first.stderr
    number = first.stdout.split("You are ", 1)[1].split(" ", 1)[0]
    assert number.startswith("+1555") and "How old are you?" in first.stdout

    again = _chat(tmp_path, stdin="hello\n/quit\n")
    assert again.returncode == 0, again.stderr
    assert again.stdout.split("You are ", 1)[1].split(" ", 1)[0] != number
    assert "Which event" in again.stdout or "event ID" in again.stdout  # a newcomer: asked the event
    assert f"--as {number}" in first.stdout

    resumed = _chat(tmp_path, "--as", number, stdin="34\n/state\n/quit\n")
    assert resumed.returncode == 0, resumed.stderr
    assert "continuing" in resumed.stdout and "(state: asking_gender; event: CLIMATE24" in resumed.stdout
    store = SQLiteStore(tmp_path / "cli.db")
    assert store.get_profile("CLIMATE24", number)["age"] == 34
