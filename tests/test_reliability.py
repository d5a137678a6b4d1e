"""Reliability under load and faults: nothing lost, nothing doubled.

Small by default (it runs in `.ci/run`); `RELIABILITY_FULL=1` runs the issue's size,
500 participants x 20 messages. See `reliability_support` for the load itself.
"""

from __future__ import annotations

import asyncio
import random

import pytest
from fake_openai import Answer, FakeOpenAI
from harness import shipped_flow
from reliability_support import (
    FULL,
    TWILIO_FAULTS,
    FaultyModel,
    LoadPlan,
    ServerProcess,
    account,
    drive,
    free_port,
    server_env,
    settled,
)
from webhook_support import db_path, fake_twilio, message_form, start_app, wait_for  # noqa: F401

from listener.store.sqlite import SQLiteStore

pytestmark = pytest.mark.reliability

SETTLE_SECONDS = 300 if FULL else 90


def report(name: str, plan: LoadPlan, result, accounts) -> None:
    """One line per run, for the README's reliability section (`pytest -s`)."""
    print(
        f"\n{name}: {plan.participants} participants x {plan.messages} messages = {accounts.messages} messages, "
        f"{result.deliveries} deliveries answered 200 ({result.deliveries - accounts.messages} duplicates), "
        f"{result.redeliveries} redelivered, {result.kills} kills, in {result.seconds:.1f} s; "
        f"recorded {accounts.recorded_in}, replies owed {accounts.replies_owed}, reached Twilio "
        f"{accounts.replies_sent} (doubled {accounts.doubled_replies}), problems {len(accounts.problems)}"
    )


def test_load_with_duplicates_bursts_and_failing_twilio_and_model(db_path, fake_twilio, tmp_path):
    plan = LoadPlan.sized(small=(40, 10))
    fake_twilio.fail_randomly(0.2, TWILIO_FAULTS, seed=3)
    with FakeOpenAI() as model:
        faults = FaultyModel(0.2)
        model.respond_with(faults)
        server = ServerProcess(server_env(db_path, fake_twilio, model.base_url), free_port(),
                               tmp_path / "server.log").start()
        store = SQLiteStore(db_path)
        try:
            result = asyncio.run(drive(plan, server.port, timeout=SETTLE_SECONDS))
            sids = [form["MessageSid"] for forms in plan.conversations().values() for form in forms]
            wait_for(lambda: settled(store, sids), timeout=SETTLE_SECONDS, what="every message and reply settled")
            accounts = account(store, plan, fake_twilio, shipped_flow())
        finally:
            server.stop()
            store.close()
    report("load with faults", plan, result, accounts)

    assert accounts.problems == []
    assert accounts.recorded_in == accounts.messages == plan.participants * plan.messages
    assert accounts.doubled_replies == 0
    assert result.deliveries > accounts.messages  # duplicates were delivered...
    # ...and the faults happened: Twilio refused sends, the model failed calls.
    assert len(fake_twilio.attempts) > len(fake_twilio.messages)
    assert faults.failures > 0 and faults.calls == len(model.requests)
    assert not model.misses


def test_a_server_killed_at_random_moments_loses_nothing(db_path, fake_twilio, tmp_path):
    plan = LoadPlan.sized(small=(30, 8))
    fake_twilio.fail_randomly(0.2, TWILIO_FAULTS, seed=5)
    store = SQLiteStore(db_path)
    port = free_port()
    # The killed server's claims lapse after 2 s: its replies are taken over (and looked up).
    env = server_env(db_path, fake_twilio, RECOVERY_GRACE_SECONDS="0", SEND_CLAIM_SECONDS="2",
                     SEND_TIMEOUT_SECONDS="1", RECOVERY_INTERVAL_SECONDS="0.5")
    servers = [ServerProcess(env, port, tmp_path / "server.log").start()]
    pause = random.Random(13)
    restarts: list[asyncio.Task] = []

    async def crash() -> None:
        servers[-1].kill()
        await asyncio.sleep(pause.uniform(0, 0.3))
        # Restarted as a dyno is, not waited for: the next kill comes after more deliveries
        # are accepted (by this server), so every kill lands while the load is going on.
        restarted = ServerProcess(env, port, tmp_path / "server.log")
        servers.append(restarted)
        restarts.append(asyncio.create_task(asyncio.to_thread(restarted.start)))

    try:
        result = asyncio.run(drive(plan, port, timeout=SETTLE_SECONDS, crash=crash, kills=5))
        # A server killed before it answered /healthz ends its start with an error: expected.
        for restart in restarts:
            if restart.done() and not restart.cancelled():
                restart.exception()
        sids = [form["MessageSid"] for forms in plan.conversations().values() for form in forms]
        wait_for(lambda: settled(store, sids), timeout=SETTLE_SECONDS, what="every message and reply settled")
        accounts = account(store, plan, fake_twilio, shipped_flow())
    finally:
        for server in servers:
            server.stop()
        store.close()
    report("crash", plan, result, accounts)

    assert result.kills == 5
    assert accounts.problems == []
    assert accounts.recorded_in == accounts.messages == plan.participants * plan.messages
    assert accounts.doubled_replies == 0


def test_acknowledgements_do_not_wait_for_a_slow_model(start_app, fake_twilio):
    """Messages held for seconds by the model must not hold the webhook's inbox writes:
    with more slow messages in flight than the engine has threads, deliveries still get
    their 200 at once (before the fix they queued behind the model, seconds each)."""
    with FakeOpenAI() as model:
        server = start_app(openai_api_key="sk-test-not-a-key", openai_base_url=model.base_url,
                           openai_max_retries=0, openai_timeout_seconds=10)
        numbers = [f"+1555100{index:04d}" for index in range(12)]
        joined = [f"SM{index:032d}" for index in range(len(numbers))]
        for sid, number in zip(joined, numbers):
            server.post("/message", message_form(sid, number, "hi, I'm at TOWNHALL"))
        wait_for(lambda: server.settled(joined), what="the participants to join")

        model.always(Answer.sleep(4, Answer.json({"status": "found", "name": "Ana"})))
        names = [f"SM1{index:031d}" for index in range(len(numbers))]
        for sid, number in zip(names, numbers):  # each name answer is held 4 s by the model
            assert server.post("/message", message_form(sid, number, "Ana"), timeout=2).status_code == 200
        wait_for(lambda: len(model.requests) >= 2, what="the model to hold messages")  # the model holds them...
        assert server.store.inbound_status(names[0]) == "pending"  # ...and held them all along
        wait_for(lambda: server.settled(names), timeout=30, what="the names to be processed")
