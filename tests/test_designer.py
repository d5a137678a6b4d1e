"""A designer's trial, done as the README's "Editing the flow" tells: questions added to a
copy of the flow by YAML alone, checked with `listener flow check`, asked over the real
webhook, stored, and carried by every export; and a designer's mistakes reported with
their line and a hint."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from harness import ROOT
from webhook_support import db_path, fake_twilio, message_form, start_app, wait_for  # noqa: F401

from listener.console.views import asked_questions, participant_rows
from listener.conversation.graph import load_graph
from listener.models import EventConfig
from listener.store.sqlite import SQLiteStore

SHIPPED = (ROOT / "transitions.yaml").read_text(encoding="utf-8")
AFTER_REGION = '''      zh-Hant: "抱歉，請問你住在哪個地區或城市？也可以回覆「不想說」。"
'''
OCCUPATION = '''  - key: occupation
    type: text
    max_words: 6
    ask: "What do you do for a living?"
    reask: "Sorry, what is your occupation? Or say \\"prefer not to say\\"."
'''
ROLE = '''  - key: role
    type: choice
    options:
      student: [studying, undergrad, estudiante]
      staff: [employee, lecturer, "work here"]
      visitor: [guest, "just visiting"]
    ask: "Are you a student, staff or a visitor?"
    reask: "Please answer student, staff or visitor."
'''
PARTICIPANT = "+15550107001"


def with_questions(*entries: str) -> str:
    """The shipped flow with questions added after the region, as a designer types them."""
    assert AFTER_REGION in SHIPPED
    return SHIPPED.replace(AFTER_REGION, AFTER_REGION + "".join(entries), 1)


def listener(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "listener.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, **env}, timeout=120)


@pytest.fixture
def designed(tmp_path, db_path) -> Path:  # noqa: F811
    flow = tmp_path / "designed.yaml"
    flow.write_text(with_questions(OCCUPATION, ROLE), encoding="utf-8")
    store = SQLiteStore(db_path)
    store.put_event(EventConfig.model_validate({
        "event_id": "CAMPUS", "event_name": "Campus Forum", "responses": "template",
        "extraction_settings": {"age_extraction": False, "occupation_extraction": True, "role_extraction": True},
    }))
    store.close()
    return flow


def test_the_designed_flow_checks(designed, tmp_path):
    done = listener(["flow", "check", str(designed)], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "13 states" in done.stdout


def test_added_questions_are_asked_after_the_region_stored_and_exported(designed, start_app, fake_twilio, db_path, tmp_path):  # noqa: F811
    server = start_app(flow_file=designed)
    steps = [
        ("hi, I'm at CAMPUS", "asking_name"), ("Robin", "asking_occupation"),
        ("I'm a nurse at the hospital", "asking_role"), ("banana", "asking_role"),
        ("just visiting", "listening"), ("The library should open on Sundays.", "listening"),
    ]
    for number, (body, state) in enumerate(steps):
        sid = f"SMdesign{number:026d}"
        assert server.post("/message", message_form(sid, PARTICIPANT, body)).status_code == 200
        wait_for(lambda: server.settled([sid]), what=body)
        assert server.store.load_participant(PARTICIPANT).state == state, body
    sent = fake_twilio.sent_to(PARTICIPANT)
    assert "What do you do for a living?" in sent and "Please answer student, staff or visitor." in sent
    profile = server.store.get_profile("CAMPUS", PARTICIPANT)
    assert (profile["occupation"], profile["role"]) == ("I'm a nurse at the hospital", "visitor")
    assert profile["occupation_raw"] == "I'm a nurse at the hospital"
    event = server.store.get_event("CAMPUS")
    columns = asked_questions(load_graph(designed).spec.questions, event)
    assert [q.key for q in columns] == ["name", "occupation", "role"]
    [row] = participant_rows(server.store, event, columns)
    assert row.answers["occupation"] == "I'm a nurse at the hospital" and row.answers["role"] == "visitor"

    env = {"STORE_URL": f"sqlite:///{db_path}", "FLOW_FILE": str(designed)}
    tttc = listener(["export", "CAMPUS", "--format", "tttc"], tmp_path, **env)
    assert tttc.returncode == 0, tttc.stderr
    rows = list(csv.DictReader(io.StringIO(tttc.stdout)))
    assert list(rows[0]) == ["comment-id", "comment-body", "interview", "age", "gender", "region", "occupation", "role", "language"]
    assert (rows[0]["interview"], rows[0]["occupation"], rows[0]["role"]) == ("Robin", "I'm a nurse at the hospital", "visitor")
    for form in ("csv", "jsonl"):
        done = listener(["export", "CAMPUS", "--format", form], tmp_path, **env)
        assert done.returncode == 0, done.stderr
        lines = (list(csv.DictReader(io.StringIO(done.stdout))) if form == "csv"
                 else [json.loads(line) for line in done.stdout.splitlines()])
        answers = {row["state"]: row["text"] for row in lines if row["kind"] == "answer"}
        assert answers["asking_occupation"] == "I'm a nurse at the hospital"
        assert answers["asking_role"] == "just visiting"
    listed = listener(["events", "list"], tmp_path, **env)
    assert "CAMPUS\tCampus Forum\topen\tasks: name, occupation, role" in listed.stdout


@pytest.mark.parametrize(
    ("change", "where", "says"),
    [
        (("      - questions: profile.still_to_ask   # one route per question, in order, while still to ask\n", ""),
         "questions", "no routing state routes to the questions: add `- questions: profile.still_to_ask`"),
        (('    ask: "What do you do for a living?"', '    ask: "What do you do for a living, {nmae}?"'),
         "questions.4.ask", "{nmae} is not a value any text can use (did you mean {name}?)"),
        (("    type: text\n    max_words: 6", "    type: paragraph\n    max_words: 6"),
         "questions.4", "'text', 'number', 'choice', 'yes_no'"),
        (("  joined: [questions, listening,", "  joined: [listening,"),
         "questions.0.name", "sent there would be stored as the answer: add it to the group 'joined'"),
    ],
    ids=["no route to the questions", "unknown placeholder", "unknown type", "commands left out of a question"],
)
def test_a_designer_mistake_is_reported_with_its_line_and_a_hint(tmp_path, change, where, says):
    text = with_questions(OCCUPATION)
    old, new = change
    assert old in text, old
    flow = tmp_path / "mistake.yaml"
    flow.write_text(text.replace(old, new, 1), encoding="utf-8")
    done = listener(["flow", "check", str(flow)], tmp_path)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    message = done.stderr.strip().splitlines()[-1]
    assert f"{flow}:" in message and f": {where}" in message and says in message, message
    line = int(message.split(f"{flow}:", 1)[1].split(":", 1)[0])
    assert 1 <= line <= len(text.splitlines())
    if where == "questions.4":
        assert yaml.safe_load(text)["questions"][4]["key"] == "occupation"
        assert "occupation" in text.splitlines()[line - 1] or "paragraph" in "".join(text.splitlines()[line - 1:line + 2])
