"""Twilio's queue: what is handed over beyond the sender's messages per second waits.
`listener stats` (another process than the server) and the console's event page estimate
that wait from the outbox; the fake Twilio queues at the same rate and says the truth."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from fake_twilio import FakeTwilio
from webhook_support import AppServer, db_path, make_settings, message_form, wait_for  # noqa: F401

from listener.channel.app import create_app
from listener.operators.stats import queue_wait

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
MPS = 4.0


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_queue_wait_counts_only_what_exceeds_the_rate():
    burst = [at(0)] * 20
    assert queue_wait(burst, 10, at(0)) == pytest.approx(2.0)
    assert queue_wait(burst, 10, at(1.5)) == pytest.approx(0.5)
    assert queue_wait(burst, 10, at(5)) == 0
    # Spread at the rate, nothing waits beyond its own turn.
    assert queue_wait([at(k / 10) for k in range(100)], 10, at(10)) == 0
    # A second burst after the first drained starts from empty.
    assert queue_wait(burst + [at(10)] * 10, 10, at(10)) == pytest.approx(1.0)
    assert queue_wait([], 10, at(0)) == 0


@pytest.fixture
def queueing_twilio():
    fake = FakeTwilio(mps=MPS).start()
    yield fake
    fake.stop()


def test_stats_and_the_event_page_estimate_twilios_queue(db_path, queueing_twilio, tmp_path):  # noqa: F811
    settings = make_settings(db_path, queueing_twilio, twilio_mps=MPS)
    server = AppServer(create_app(settings), db_path).start()
    try:
        numbers = [f"+1555300{index:04d}" for index in range(20)]
        sids = [f"SM{index:032d}" for index in range(len(numbers))]
        for sid, number in zip(sids, numbers):
            assert server.post("/message", message_form(sid, number, "hi, I'm at TOWNHALL")).status_code == 200
        wait_for(lambda: server.settled(sids), timeout=30, what="every reply handed to Twilio")
        assert len(queueing_twilio.messages) >= 2 * len(numbers)  # about ten seconds of queue at 4 a second

        before = queueing_twilio.queue_delay()
        env = {**os.environ, "STORE_URL": settings.store_url, "TWILIO_MPS": str(MPS)}
        result = subprocess.run([sys.executable, "-m", "listener.cli", "stats", "--json"],
                                capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
        after = queueing_twilio.queue_delay()
        assert result.returncode == 0, result.stderr
        estimate = json.loads(result.stdout)["twilio_queue_seconds"]
        assert before > 3, before
        assert after - 2 <= estimate <= before + 2, (after, estimate, before)

        text = subprocess.run([sys.executable, "-m", "listener.cli", "stats"],
                              capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60).stdout
        assert "twilio queue: about" in text and "TWILIO_MPS=4" in text

        page = server.client.get("/console/events/TOWNHALL")
        assert page.status_code == 200 and 'data-figure="twilio_queue_seconds"' in page.text
        live = server.client.get("/console/events/TOWNHALL/live").json()
        now_true = queueing_twilio.queue_delay()
        assert abs(live["stats"]["twilio_queue_seconds"] - now_true) <= 2, (live["stats"], now_true)
    finally:
        server.stop()
