"""Several processes on one store (two dynos, `uvicorn --workers 2`): a participant's
messages are processed in the order they were received whichever process received them,
and a process killed mid-work is taken over within 60 s, nothing lost or doubled.

Through the real path: two `uvicorn app:app` child processes, as the Procfile runs them,
on one SQLite file or one Firestore emulator project; signed webhooks; replies through the
official client to the local fake Twilio; the fake OpenAI where a model is wanted.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_openai import Answer, FakeOpenAI, Request
from fake_twilio import FakeTwilio
from firestore_fixtures import reset
from load_client import WebhookClient
from reliability_support import ServerProcess, free_port, server_env
from webhook_support import message_form, wait_for

from listener.config import Settings
from listener.models import EventConfig, ExtractionSettings
from listener.store import Store, open_store

EVENT = EventConfig(
    event_id="PARISH", event_name="Parish Meeting", responses="template",
    extraction_settings=ExtractionSettings(age_extraction=True, gender_extraction=True, region_extraction=True),
)
NAMES = ["Ana", "Ben", "Chloe", "Dev", "Eun", "Femi", "Gita", "Hugo", "Ines", "Jon"]
GENDERS = {"woman": "female", "man": "male"}
REGIONS = ["Bristol", "Leeds", "Cardiff", "Glasgow", "Belfast"]
PARTICIPANTS = 50
GAP_SECONDS = 0.005
TAKEOVER_SECONDS = 60.0
_projects = itertools.count()


def participant(index: int) -> str:
    return f"+1555{index:07d}"


def onboarding(index: int) -> list[str]:
    """Event ID, name, age, gender, region: each answer told apart from every other's."""
    return [f"hi, I'm at {EVENT.event_id}", NAMES[index % len(NAMES)], str(20 + index),
            list(GENDERS)[index % 2], REGIONS[index % len(REGIONS)]]


def expected_profile(index: int) -> dict[str, object]:
    answers = onboarding(index)
    return {"name": answers[1], "age": 20 + index, "gender": GENDERS[answers[3]], "region": answers[4]}


def sid(index: int, step: int) -> str:
    return f"SM{index:016d}{step:016d}"


@pytest.fixture(params=["sqlite", "firestore"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """One store for both processes: a SQLite file, or an emptied emulator project."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shared.db'}"
        return
    host = request.getfixturevalue("firestore_emulator")
    project = f"listener-processes-{os.getpid()}-{next(_projects)}"
    reset(host, project)
    yield f"firestore://{project}"
    reset(host, project)


@pytest.fixture
def shared(store_url: str) -> Iterator[Store]:
    store = open_store(store_url, Settings(_env_file=None))
    store.put_event(EVENT)
    yield store
    store.close()


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio().start()
    yield fake
    fake.stop()


def start_two(store_url: str, twilio: FakeTwilio, tmp_path: Path, **settings: str) -> list[ServerProcess]:
    env = server_env(tmp_path / "unused.db", twilio, STORE_URL=store_url, **settings)
    servers: list[ServerProcess] = []
    try:
        for name in ("first", "second"):
            servers.append(ServerProcess(env, free_port(), tmp_path / f"{name}.log").start(timeout=60))
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return servers


async def post(client: WebhookClient, form: dict[str, str]) -> None:
    answer = await client.post_form("/message", form)
    assert answer.status == 200, (form["MessageSid"], answer.status, answer.body[:300])


def settled(store: Store, sids: list[str]) -> bool:
    """Every message processed and every reply to it sent (none waiting, none held)."""
    if any(store.inbound_status(message) != "done" for message in sids):
        return False
    for message in sids:
        for number in itertools.count(1):
            reply = store.get_reply(f"{message}-r{number}")
            if reply is None:
                break
            if reply.status in ("pending", "sending"):
                return False
    return True


def assert_once_and_in_order(store: Store, twilio: FakeTwilio, number: str, sids: list[str]) -> None:
    """Each message recorded once, processed in the order it was sent; each reply sent once."""
    inbound = [i.id for i in store.iter_interactions(participant=number) if i.direction == "in"]
    assert inbound == sids, number
    replies = [store.get_reply(i.id) for i in store.iter_interactions(participant=number) if i.direction == "out"]
    assert replies and all(reply is not None and reply.status == "sent" for reply in replies), number
    at_twilio = Counter(twilio.sent_to(number))
    assert sum(at_twilio.values()) == len(replies), (number, at_twilio)
    assert at_twilio == Counter(reply.text for reply in replies), number


def test_one_participants_answers_alternated_between_two_processes_keep_their_order(
    store_url, shared, twilio, tmp_path
):
    """50 participants onboard at once, each one's answers sent alternately to one process
    and the other, 5 ms after the previous answer was acknowledged (still being processed
    by the other process). Processed out of order, an age would be read as a name."""
    servers = start_two(store_url, twilio, tmp_path)
    try:
        async def talk(clients: list[WebhookClient], index: int) -> None:
            for step, body in enumerate(onboarding(index)):
                await post(clients[(index + step) % 2], message_form(sid(index, step), participant(index), body))
                await asyncio.sleep(GAP_SECONDS)

        async def everyone() -> None:
            clients = [WebhookClient(server.port, connections=64) for server in servers]
            try:
                await asyncio.gather(*(talk(clients, index) for index in range(PARTICIPANTS)))
            finally:
                for client in clients:
                    await client.close()

        asyncio.run(everyone())
        every_sid = [sid(index, step) for index in range(PARTICIPANTS) for step in range(5)]
        wait_for(lambda: settled(shared, every_sid), timeout=180, what="every answer processed and replied to")
        time.sleep(1.0)  # anything sent twice would arrive now
    finally:
        for server in servers:
            server.stop()
    for index in range(PARTICIPANTS):
        number = participant(index)
        profile = shared.get_profile(EVENT.event_id, number)
        assert profile is not None, number
        assert {field: profile.get(field) for field in ("name", "age", "gender", "region")} == expected_profile(index)
        assert_once_and_in_order(shared, twilio, number, [sid(index, step) for step in range(5)])


class GatedModel:
    """A model that answers every reading with a server error (so the offline rules read
    the answers), and between `close()` and `open()` does not answer at all."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.held = 0
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Answer:
        if not self.gate.is_set():
            with self._lock:
                self.held += 1
            self.gate.wait(120)
        return Answer.error(500)

    def close(self) -> None:
        self.gate.clear()

    def open(self) -> None:
        self.gate.set()


def test_a_process_killed_mid_work_is_taken_over_within_a_minute(store_url, shared, twilio, tmp_path):
    """The first process holds a participant: it recorded their oldest waiting answer and is
    reading it (the model does not answer), so the second process leaves the answers it
    receives to it; it also holds the claim on a reply whose send Twilio accepted and has
    not answered. SIGKILL. With the default recovery settings, the second process processes
    every answer in order and sends every reply, the claimed one once, within 60 s."""
    number = participant(7)
    answers = onboarding(7)
    with FakeOpenAI() as model:
        gated = GatedModel()
        model.respond_with(gated)
        first, second = start_two(
            store_url, twilio, tmp_path, OPENAI_API_KEY="sk-test-not-a-key", OPENAI_BASE_URL=model.base_url,
            OPENAI_MAX_RETRIES="0", OPENAI_TIMEOUT_SECONDS="110", OPENAI_DEADLINE_SECONDS="110",
            SEND_TIMEOUT_SECONDS="20",
            RECOVERY_INTERVAL_SECONDS=str(Settings.model_fields["recovery_interval_seconds"].default),
            RECOVERY_GRACE_SECONDS=str(Settings.model_fields["recovery_grace_seconds"].default),
        )
        try:
            joined = sid(7, 0)
            twilio.answer_late(600)  # the welcome: accepted by Twilio, never answered
            asyncio.run(_post_to(first, message_form(joined, number, answers[0])))
            wait_for(lambda: shared.inbound_status(joined) == "done", timeout=30, what="the event ID processed")
            wait_for(lambda: twilio.sent_to(number), timeout=30, what="the welcome accepted by Twilio")
            welcome = shared.get_reply(f"{joined}-r1")
            assert welcome is not None and welcome.status == "sending"

            gated.close()
            later = [sid(7, step) for step in range(1, 5)]
            for step, server in zip(range(1, 5), (first, second, first, second), strict=True):
                asyncio.run(_post_to(server, message_form(sid(7, step), number, answers[step])))
                time.sleep(GAP_SECONDS)
            wait_for(lambda: gated.held >= 1, timeout=30, what="the first process to ask the model")
            time.sleep(2.0)
            assert all(shared.inbound_status(message) == "pending" for message in later), \
                "the second process must leave the answers to the process reading the first one"

            first.kill()
            killed = time.monotonic()
            gated.open()
            wait_for(lambda: settled(shared, [joined, *later]), timeout=TAKEOVER_SECONDS + 10,
                     what="the second process to take over")
            took = time.monotonic() - killed
            time.sleep(1.0)
        finally:
            gated.open()
            first.stop()
            second.stop()
    print(f"taken over {took:.1f}s after the kill")
    assert took < TAKEOVER_SECONDS, f"taken over after {took:.1f}s"
    profile = shared.get_profile(EVENT.event_id, number)
    assert profile is not None
    assert {field: profile.get(field) for field in ("name", "age", "gender", "region")} == expected_profile(7)
    assert_once_and_in_order(shared, twilio, number, [joined, *later])


async def _post_to(server: ServerProcess, form: dict[str, str]) -> None:
    client = WebhookClient(server.port)
    try:
        await post(client, form)
    finally:
        await client.close()
