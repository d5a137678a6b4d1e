"""The `listener` command as a user runs it: real processes, real files, exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone

import pytest
from harness import ROOT

from listener.store.sqlite import SQLiteStore


def run(args, tmp_path, stdin: str | None = None, **env):
    environment = {**os.environ, "STORE_URL": f"sqlite:///{tmp_path}/cli.db", **env}
    return subprocess.run(
        [sys.executable, "-m", "listener.cli", *args],
        input=stdin, capture_output=True, text=True, cwd=tmp_path, env=environment, timeout=60,
    )


def test_events_add_and_list(tmp_path):
    added = run(["events", "add", str(ROOT / "examples" / "climate24.yaml")], tmp_path)
    assert added.returncode == 0, added.stderr
    assert "added event CLIMATE24" in added.stdout
    again = run(["events", "add", str(ROOT / "examples" / "climate24.yaml")], tmp_path)
    assert again.returncode == 1 and "use `listener events update" in again.stderr
    updated = run(["events", "update", str(ROOT / "examples" / "climate24.yaml")], tmp_path)
    assert "updated event CLIMATE24" in updated.stdout
    listed = run(["events", "list"], tmp_path)
    assert listed.returncode == 0
    assert "CLIMATE24\tCitizens' Climate Assembly 2024\topen\tasks: name, age, gender, region" in listed.stdout


def test_events_add_json(tmp_path):
    path = tmp_path / "e.json"
    path.write_text(json.dumps({"event_id": "TOWN-7", "event_name": "Town meeting"}))
    assert run(["events", "add", str(path)], tmp_path).returncode == 0
    assert SQLiteStore(tmp_path / "cli.db").get_event("town-7").event_name == "Town meeting"


@pytest.mark.parametrize(
    "content, message",
    [
        ("event_name: no id\n", "event_id: Field required"),
        ("event_id: 'has spaces'\n", "event_id: Value error"),
        ("event_id: OK1\nextraction_settings: {age_extraction: maybe}\n", "extraction_settings.age_extraction"),
        ("event_id: OK1\nresponses: loud\n", "responses: Input should be 'llm', 'template' or 'silent'"),
        ("- just\n- a list\n", "expected a mapping"),
        ("event_id: [unclosed\n", "not valid YAML"),
    ],
)
def test_events_add_rejects_a_bad_file_with_a_clear_message(tmp_path, content, message):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    result = run(["events", "add", str(path)], tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_events_add_missing_file(tmp_path):
    result = run(["events", "add", "nope.yaml"], tmp_path)
    assert result.returncode == 2
    assert "nope.yaml: cannot read" in result.stderr


def test_bad_store_url_is_a_clear_error(tmp_path):
    result = run(["events", "list"], tmp_path, STORE_URL="postgres://x")
    assert result.returncode == 2
    assert "unknown scheme 'postgres'" in result.stderr
    assert "Traceback" not in result.stderr


def test_chat_holds_a_whole_conversation(tmp_path):
    script = "\n".join([
        "hi, I'm at CLIMATE24", "Alex", "34", "woman", "Bristol", "the buses are late",
        "/voice we need more trees", "/state", "/wait 25h", "/nonsense", "/quit",
    ]) + "\n"
    result = run(["chat", "--event-file", str(ROOT / "examples" / "climate24.yaml")], tmp_path, stdin=script)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "agent> What's your name?" in out
    assert "agent> Thanks, Alex!" in out
    assert "(state: listening; event: CLIMATE24; events: CLIMATE24)" in out
    assert "(clock moved to" in out
    assert "commands: /voice" in out
    store = SQLiteStore(tmp_path / "cli.db")
    stored = [i for i in store.iter_interactions(event_id="CLIMATE24") if i.direction == "in"]
    assert stored[-1].transcript == "we need more trees"
    assert store.pending_replies(datetime.now(timezone.utc)) == []


def test_chat_without_events_says_what_to_do(tmp_path):
    result = run(["chat"], tmp_path, stdin="")
    assert result.returncode == 2
    assert "--event-file" in result.stderr


def test_flow_check_and_graph(tmp_path):
    checked = run(["flow", "check", str(ROOT / "transitions.yaml")], tmp_path)
    assert checked.returncode == 0 and "ok: 11 states" in checked.stdout
    drawn = run(["flow", "graph", str(ROOT / "transitions.yaml")], tmp_path)
    assert drawn.stdout.startswith("flowchart TB\n")
    picture = run(["flow", "graph", "--format", "svg", str(ROOT / "transitions.yaml")], tmp_path)
    assert picture.returncode == 0 and picture.stdout.startswith("<svg ") and picture.stdout.rstrip().endswith("</svg>")


def test_flow_graph_writes_the_readme_picture_and_refuses_a_file_without_the_block(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# Flow\n<!-- flow-diagram:start (generated) -->\nold\n<!-- flow-diagram:end -->\nafter\n")
    written = run(["flow", "graph", str(ROOT / "transitions.yaml"), "--write", str(readme)], tmp_path)
    assert written.returncode == 0, written.stderr
    assert "](docs/flow.svg)\n<!-- flow-diagram:end -->\nafter\n" in readme.read_text() and "old" not in readme.read_text()
    assert (tmp_path / "docs" / "flow.svg").read_text() == (ROOT / "docs" / "flow.svg").read_text()
    plain = tmp_path / "plain.md"
    plain.write_text("# nothing to replace\n")
    refused = run(["flow", "graph", str(ROOT / "transitions.yaml"), "--write", str(plain)], tmp_path)
    assert refused.returncode == 2 and "flow-diagram:start" in refused.stderr and "Traceback" not in refused.stderr


def test_flow_check_reports_a_broken_graph_by_line(tmp_path):
    broken = (ROOT / "transitions.yaml").read_text().replace("dest: opted_out", "dest: opted_in", 1)
    path = tmp_path / "broken.yaml"
    path.write_text(broken)
    result = run(["flow", "check", str(path)], tmp_path)
    assert result.returncode == 2
    assert "broken.yaml:" in result.stderr and "unknown state 'opted_in'" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_for_every_command(tmp_path):
    for args in (["--help"], ["chat", "--help"], ["events", "--help"], ["flow", "--help"], ["serve", "--help"]):
        result = run(args, tmp_path)
        assert result.returncode == 0 and "usage: listener" in result.stdout, args
