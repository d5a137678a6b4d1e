"""`listener doctor`: the configuration, the flow file, the store and the public address,
each passing and failing through the real path (a SQLite file another process holds
locked, a Firestore address that never answers, a broken flow file, an HTTP server that
answers 503); and the command's exit statuses and output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from doctor_support import (
    HealthServer,
    closed_port,
    only,
    production,
    settings_for,
    silent_port,
    verdicts,
)
from fake_twilio_numbers import FakeTwilioAccount
from firestore_fixtures import EMULATOR_ENV, TEST_PROJECT, reset
from harness import ROOT, fixture_events

from listener.config import Settings
from listener.operators.doctor import Verdict, exit_status, run_doctor
from listener.operators.doctor.configuration import check_configuration
from listener.operators.doctor.flow_file import check_flow
from listener.operators.doctor.public_url import check_public_url
from listener.operators.doctor.store import check_store
from listener.store import open_store
from listener.store.firestore_queries import QUERIES

OK, SKIPPED, WARNING, BLOCKER = Verdict.OK, Verdict.SKIPPED, Verdict.WARNING, Verdict.BLOCKER


# configuration ---------------------------------------------------------------------------


def test_complete_production_settings_pass(tmp_path):
    findings = check_configuration(
        production(tmp_path, "http://127.0.0.1:9", store_url="firestore://p", firebase_credentials="{}")
    )
    assert {finding.verdict for finding in findings} == {OK}


def test_production_without_public_url_blocks(tmp_path):
    findings = check_configuration(production(tmp_path, "http://127.0.0.1:9", public_url=None))
    finding = only(findings, "configuration.public_url")
    assert finding.verdict == BLOCKER
    assert "PUBLIC_URL" in finding.action


def test_production_without_twilio_credentials_blocks_as_the_web_app_would(tmp_path):
    findings = check_configuration(production(tmp_path, "http://127.0.0.1:9", twilio_auth_token=None))
    assert verdicts(findings, "configuration") == [BLOCKER]
    assert "refuse to start" in only(findings, "configuration").found


def test_production_on_sqlite_or_plain_http_warns(tmp_path):
    findings = check_configuration(production(tmp_path, "http://127.0.0.1:9", public_url="http://listener.example.org"))
    assert verdicts(findings, "configuration.store") == [WARNING]
    assert verdicts(findings, "configuration.public_url") == [WARNING]


def test_firestore_without_credentials_outside_the_emulator_warns(tmp_path):
    findings = check_configuration(settings_for(tmp_path, store_url="firestore://p", firestore_emulator_host=None))
    assert verdicts(findings, "configuration.store") == [WARNING]
    assert "FIREBASE_CREDENTIALS" in only(findings, "configuration.store").action


def test_an_invalid_setting_is_one_blocker_not_a_traceback(tmp_path):
    findings = run_doctor(lambda: Settings(_env_file=None, log_format="xml"))
    assert [(f.check, f.verdict) for f in findings] == [("configuration", BLOCKER)]
    assert "log_format" in findings[0].found.lower()


# flow ------------------------------------------------------------------------------------


def test_the_shipped_flow_passes(tmp_path):
    assert verdicts(check_flow(settings_for(tmp_path)), "flow") == [OK]


def test_a_broken_flow_file_blocks_with_its_line(tmp_path):
    broken = tmp_path / "flow.yaml"
    broken.write_text((ROOT / "transitions.yaml").read_text().replace("dest: listening", "dest: lisening", 1))
    finding = only(check_flow(settings_for(tmp_path, flow_file=broken)), "flow")
    assert finding.verdict == BLOCKER
    assert f"{broken}:" in finding.found and "lisening" in finding.found


# store -----------------------------------------------------------------------------------


def _sqlite_with_events(tmp_path) -> Settings:
    settings = settings_for(tmp_path)
    store = open_store(settings.store_url)
    for event in fixture_events().values():
        store.put_event(event)
    store.close()
    return settings


def test_a_sqlite_store_reads_writes_and_runs_its_queries(tmp_path):
    findings = check_store(_sqlite_with_events(tmp_path), timeout=10)
    assert [f.verdict for f in findings] == [OK, OK, OK, OK]
    assert f"{len(fixture_events())} event(s)" in only(findings, "store.read").found


def test_an_empty_store_warns_that_there_is_no_event(tmp_path):
    assert verdicts(check_store(settings_for(tmp_path), timeout=10), "store.events") == [WARNING]


@pytest.mark.parametrize(
    ("event_id", "verdict"),
    [("climate24", OK), ("OLDFAIR", BLOCKER), ("NOPE", BLOCKER)],
    ids=["open", "closed", "missing"],
)
def test_the_event_named_must_exist_and_be_open(tmp_path, event_id, verdict):
    assert verdicts(check_store(_sqlite_with_events(tmp_path), timeout=10, event_id=event_id), "store.events") == [
        verdict
    ]


def test_a_store_another_process_holds_locked_is_reported_not_writable(tmp_path):
    settings = _sqlite_with_events(tmp_path)
    path = settings.store_url.removeprefix("sqlite:///")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            f"c = sqlite3.connect({path!r}, isolation_level=None)\n"
            "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        findings = check_store(settings, timeout=1.0)
        elapsed = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert verdicts(findings, "store.read") == [OK]
    write = only(findings, "store.write")
    assert write.verdict == BLOCKER and "within 1 s" in write.found
    assert elapsed < 20, "every store call has a deadline"


def test_a_file_that_is_no_database_blocks(tmp_path):
    (tmp_path / "doctor.db").write_bytes(b"this is not an SQLite database, just bytes " * 100)
    findings = check_store(settings_for(tmp_path), timeout=5)
    assert [f.verdict for f in findings] == [BLOCKER]
    assert "not a database" in findings[0].found


def test_a_firestore_store_passes_on_the_emulator_and_says_indexes_are_for_real_projects(tmp_path, firestore_emulator):
    reset(firestore_emulator, TEST_PROJECT)
    settings = settings_for(
        tmp_path, store_url=f"firestore://{TEST_PROJECT}", firestore_emulator_host=firestore_emulator
    )
    findings = check_store(settings, timeout=10)
    assert [f.verdict for f in findings[:3]] == [OK, OK, OK]
    indexes = only(findings, "store.indexes").found
    assert "firestore.indexes.json" in indexes
    assert f"the store's {len(QUERIES)} queries run" in indexes, "every query of the store's table is tried"


def test_a_firestore_that_never_answers_blocks_within_the_deadline(tmp_path, monkeypatch):
    with silent_port() as hung:
        host = hung.removeprefix("http://")
        monkeypatch.setenv(EMULATOR_ENV, host)  # the client reads the emulator's address from the environment
        settings = settings_for(tmp_path, store_url="firestore://doctor-hung", firestore_emulator_host=host)
        started = time.monotonic()
        findings = check_store(settings, timeout=1.0)
        elapsed = time.monotonic() - started
    assert [f.verdict for f in findings] == [BLOCKER]
    assert "within 1 s" in findings[0].found
    assert elapsed < 15


# the public address ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "verdict"),
    [(200, OK), (503, BLOCKER), (404, BLOCKER), (307, WARNING)],
    ids=["up", "store-down", "other-app", "redirect"],
)
def test_the_app_must_answer_at_public_url(tmp_path, status, verdict):
    with HealthServer(status, location="https://elsewhere.example.org/healthz" if status == 307 else None) as server:
        findings = check_public_url(settings_for(tmp_path, public_url=server.url + "/"), timeout=5)
    assert [f.verdict for f in findings] == [verdict]
    assert server.paths == ["/healthz"]


def test_nothing_at_public_url_blocks(tmp_path):
    findings = check_public_url(settings_for(tmp_path, public_url=closed_port()), timeout=5)
    assert [f.verdict for f in findings] == [BLOCKER]
    assert "nothing answers" in findings[0].found


def test_a_public_url_that_never_answers_blocks_within_the_deadline(tmp_path):
    with silent_port() as hung:
        started = time.monotonic()
        findings = check_public_url(settings_for(tmp_path, public_url=hung), timeout=1.0)
        elapsed = time.monotonic() - started
    assert [f.verdict for f in findings] == [BLOCKER]
    assert elapsed < 10


# the command -----------------------------------------------------------------------------


def _doctor(env: dict[str, str], *args: str, cwd) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TWILIO_", "OPENAI_", "STORE_", "PUBLIC_", "ENVIRONMENT"))
    }
    return subprocess.run(
        [sys.executable, "-m", "listener.cli", "doctor", *args],
        env={**clean, "FLOW_FILE": str(ROOT / "transitions.yaml"), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def ready(tmp_path):
    """Everything an event needs, in development: a store with events, the fake Twilio
    with the number's webhook on the app, and the app answering at PUBLIC_URL."""
    settings = _sqlite_with_events(tmp_path)
    with FakeTwilioAccount() as twilio, HealthServer(200) as app:
        twilio.add_number("+15550009999", sms_url=f"{app.url}/message#rc=3&rp=all")
        yield {
            "STORE_URL": settings.store_url,
            "CONSOLE_TOKEN": "console-token",
            "PUBLIC_URL": app.url,
            "TWILIO_ACCOUNT_SID": twilio.account_sid,
            "TWILIO_AUTH_TOKEN": twilio.auth_token,
            "TWILIO_NUMBER": "whatsapp:+15550009999",
            "TWILIO_API_URL": twilio.url,
        }


def test_the_command_exits_0_when_the_event_can_go_ahead(tmp_path, ready):
    done = _doctor(ready, "--event", "CLIMATE24", cwd=tmp_path)
    assert done.returncode == 0, done.stdout
    assert done.stdout.rstrip().endswith("The event can go ahead.")
    assert "ok       twilio.number" in done.stdout
    assert done.stderr == ""


def test_the_command_exits_3_on_warnings_only(tmp_path, ready):
    done = _doctor({**ready, "STORE_URL": f"sqlite:///{tmp_path}/empty.db"}, "--json", cwd=tmp_path)
    report = json.loads(done.stdout)
    problems = [(f["check"], f["verdict"]) for f in report["findings"] if f["verdict"] not in ("ok", "skipped")]
    assert problems == [("store.events", "warning")]
    assert done.returncode == report["exit_status"] == 3


def test_the_command_says_what_to_do_and_exits_1_on_a_blocker(tmp_path, ready):
    done = _doctor({**ready, "PUBLIC_URL": closed_port()}, cwd=tmp_path)
    assert done.returncode == 1
    assert "BLOCKER  app.public_url" in done.stdout
    assert "what to do: start the app" in done.stdout
    assert done.stdout.rstrip().endswith("then run `listener doctor` again.")
    assert "Traceback" not in done.stderr


def test_bad_arguments_exit_2(tmp_path):
    done = _doctor({}, "--timeout", "0", cwd=tmp_path)
    assert done.returncode == 2 and "seconds" in done.stderr


def test_exit_status_follows_the_worst_finding(tmp_path):
    assert exit_status(check_flow(settings_for(tmp_path))) == 0
    assert exit_status(check_store(settings_for(tmp_path), timeout=5)) == 3
    assert exit_status(check_configuration(production(tmp_path, "http://x", public_url=None))) == 1
