"""Observability and blocking through the real webhook: a blocked number gets no reply and
leaves no record, `/metrics` counts what happened, and the Procfile's app logs JSON lines
tagged with the MessageSid and never the number or the words."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from datetime import datetime, timezone

import httpx
from fake_twilio import ACCOUNT_SID, AUTH_TOKEN
from harness import ROOT
from webhook_support import (  # noqa: F401
    PUBLIC_URL,
    TWILIO_NUMBER,
    app_server,
    db_path,
    fake_twilio,
    free_socket,
    message_form,
    signature,
    start_app,
    wait_for,
)

from listener.logs import JsonFormatter, message_context
from listener.operators.blocklist import Blocklist
from listener.operators.privacy import BlockedNumber
from listener.store.sqlite import SQLiteStore

BLOCKED = "+15550500001"
WELCOME = "+15550500002"


def metric_values(text: str) -> dict[str, float]:
    """`name value` lines of the exposition format (comments skipped)."""
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def block(server, number: str) -> None:
    store = server.store
    store.add_block(BlockedNumber.of(store.secret("participant-key"), number, datetime.now(timezone.utc)))


def test_a_blocked_number_gets_no_reply_and_leaves_no_record(start_app, fake_twilio):
    server = start_app(blocklist_cache_seconds=0)
    block(server, BLOCKED)
    before = metric_values(server.client.get("/metrics").text)

    dropped = server.post("/message", message_form("SM" + "b" * 32, BLOCKED, "hi, I'm at CLIMATE24"))
    assert dropped.status_code == 200 and dropped.text.endswith("<Response/>")
    welcome_sid = "SM" + "w" * 32
    server.post("/message", message_form(welcome_sid, WELCOME, "hi, I'm at CLIMATE24"))
    wait_for(lambda: server.settled([welcome_sid]) and fake_twilio.sent_to(WELCOME), what="the other number's reply")

    assert server.store.inbound_status("SM" + "b" * 32) is None
    assert server.store.load_participant(BLOCKED) is None
    assert list(server.store.iter_interactions(participant=BLOCKED)) == []
    assert fake_twilio.sent_to(BLOCKED) == []
    after = metric_values(server.client.get("/metrics").text)
    assert after["listener_messages_blocked_total"] == before["listener_messages_blocked_total"] + 1
    assert after["listener_messages_received_total"] == before["listener_messages_received_total"] + 1

    # unblocked, the number is heard again
    server.store.remove_block(server.store.list_blocks()[0].key)
    again = "SM" + "c" * 32
    server.post("/message", message_form(again, BLOCKED, "hi, I'm at CLIMATE24"))
    wait_for(lambda: server.settled([again]) and fake_twilio.sent_to(BLOCKED), what="a reply once unblocked")


def test_the_webhook_asks_the_cached_blocklist_without_a_thread_while_it_is_fresh(tmp_path):
    store = SQLiteStore(tmp_path / "blocks.db")
    now = [0.0]
    blocklist = Blocklist(store, ttl=30, clock=lambda: now[0])
    store.add_block(BlockedNumber.of(store.secret("participant-key"), BLOCKED, datetime.now(timezone.utc)))
    assert blocklist.known(BLOCKED) is None  # never read: the webhook reads it on a thread
    assert blocklist.blocked(BLOCKED) is True
    assert (blocklist.known(BLOCKED), blocklist.known(WELCOME)) == (True, False)
    now[0] = 30.0
    assert blocklist.known(BLOCKED) is None  # stale: read again
    store.close()


def test_metrics_count_messages_duplicates_and_replies(app_server, fake_twilio):
    response = app_server.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    for name, kind in [("listener_messages_received_total", "counter"), ("listener_messages_duplicate_total", "counter"),
                       ("listener_messages_processed_total", "counter"), ("listener_messages_failed_total", "counter"),
                       ("listener_replies_sent_total", "counter"), ("listener_replies_failed_total", "counter"),
                       ("listener_model_latency_seconds", "histogram"),
                       ("listener_transcription_latency_seconds", "histogram")]:
        assert f"# TYPE {name} {kind}\n" in response.text
    assert 'listener_model_latency_seconds_bucket{le="+Inf"}' in response.text
    before = metric_values(response.text)

    sid = "SM" + "m" * 32
    form = message_form(sid, WELCOME, "hi, I'm at CLIMATE24")
    app_server.post("/message", form)
    app_server.post("/message", form)
    wait_for(lambda: app_server.settled([sid]) and fake_twilio.sent_to(WELCOME), what="the reply")
    after = metric_values(app_server.client.get("/metrics").text)
    sent = len(fake_twilio.sent_to(WELCOME))
    assert after["listener_messages_received_total"] - before["listener_messages_received_total"] == 1
    assert after["listener_messages_duplicate_total"] - before["listener_messages_duplicate_total"] == 1
    assert after["listener_messages_processed_total"] - before["listener_messages_processed_total"] == 1
    assert after["listener_replies_sent_total"] - before["listener_replies_sent_total"] == sent


def test_the_procfile_app_logs_json_lines_with_the_message_sid_and_no_number(db_path, fake_twilio, tmp_path):
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    env = {
        "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "STORE_URL": f"sqlite:///{db_path}", "ENVIRONMENT": "test",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_NUMBER": TWILIO_NUMBER,
        "TWILIO_API_URL": fake_twilio.url, "PUBLIC_URL": PUBLIC_URL, "RECOVERY_GRACE_SECONDS": "0",
    }
    log_path = tmp_path / "stdout.log"
    with log_path.open("wb") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _healthy(url), timeout=30, what="the app to start")
        sid = "SM" + "j" * 32
        form = message_form(sid, WELCOME, "my secret words CLIMATE24")
        httpx.post(f"{url}/message", data=form, headers={"X-Twilio-Signature": signature("/message", form)},
                   timeout=5, trust_env=False)
        wait_for(lambda: fake_twilio.sent_to(WELCOME), what="the reply")
        wait_for(lambda: b"sent to" in log_path.read_bytes(), what="the reply's log line")
    finally:
        child.terminate()
        child.wait(timeout=15)
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    tagged = [line for line in lines if line.get("message_sid") == sid]
    assert {line["logger"] for line in tagged} >= {"listener.channel.routes", "listener.processing.delivery"}
    assert {line["participant"] for line in tagged} == {"+155******02"}
    text = log_path.read_text()
    assert WELCOME not in text and WELCOME.removeprefix("+") not in text
    assert "my secret words" not in text


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1, trust_env=False).status_code == 200
    except httpx.TransportError:
        return False


def test_a_json_line_carries_the_context_and_the_error():
    record = logging.LogRecord("listener.processing.worker", logging.ERROR, __file__, 1, "message %s failed", ("SM1",), None)
    try:
        raise ValueError("boom")
    except ValueError:
        record.exc_info = sys.exc_info()
    with message_context("SM1", "whatsapp:+15550500009"):
        line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert "\n" not in line
    assert (entry["level"], entry["message"], entry["message_sid"], entry["participant"]) == (
        "error", "message SM1 failed", "SM1", "+155******09",
    )
    assert "ValueError: boom" in entry["error"]
    assert "message_sid" not in json.loads(JsonFormatter().format(record))
