"""The reliability suite's load and its accounting.

Participants onboard (event ID, then name) and then talk, over HTTP, to the real app run
the way the Procfile runs it (`uvicorn app:app` in a child process). Deliveries are
duplicated, a participant's messages arrive in concurrent bursts, the local fake Twilio
and the local fake model fail a share of their calls, and a test may SIGKILL the server
at random moments and start it again. Afterwards `account()` checks, from the store, from
what the fake Twilio received and from `listener stats`' figures, that nothing was lost
and nothing doubled.

The size is small by default (what `.ci/run` runs) and the issue's full size with
`RELIABILITY_FULL=1`.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import httpx
from fake_openai import Answer, Request
from fake_twilio import FakeTwilio
from load_client import ConnectionLost, WebhookClient
from test_webhook_faults import child_env
from webhook_support import free_socket, message_form

from listener.conversation.flow import Flow
from listener.operators.stats import collect_stats
from listener.store.sqlite import SQLiteStore

ROOT = Path(__file__).resolve().parent.parent
FULL = os.environ.get("RELIABILITY_FULL") == "1"
EVENT_ID = "TOWNHALL"
NAMES = ["Ana", "Ben", "Chloe", "Dev", "Eun", "Femi", "Gita", "Hugo", "Ines", "Jon", "Kofi", "Lena"]
# Twilio's transient refusals: a server error and a rate limit.
TWILIO_FAULTS = [(500, 20500), (429, 20429)]


@dataclass(frozen=True)
class LoadPlan:
    participants: int
    messages: int  # per participant: the event ID, a name, then contributions
    duplicate_fraction: float = 0.1
    burst: int = 5
    concurrency: int = 50  # participants talking at the same time
    seed: int = 7

    @classmethod
    def sized(cls, small: tuple[int, int], full: tuple[int, int] = (500, 20)) -> LoadPlan:
        participants, messages = full if FULL else small
        return cls(participants=participants, messages=messages)

    def participant(self, index: int) -> str:
        return f"+1555{index:07d}"

    def conversations(self) -> dict[str, list[dict[str, str]]]:
        """Every participant's webhook forms, in the order they send them."""
        talks = {}
        for index in range(self.participants):
            number = self.participant(index)
            bodies = [f"hi, I'm at {EVENT_ID}", NAMES[index % len(NAMES)]]
            bodies += [f"thought {k} from participant {index} ✊🏽 مرحبا" for k in range(self.messages - 2)]
            talks[number] = [message_form(f"SM{index:016d}{k:016d}", number, body) for k, body in enumerate(bodies)]
        return talks


class FaultyModel:
    """A model that answers 429 or 500 to `fraction` of calls and otherwise reads a name
    as the participant wrote it, finds nothing else, and acknowledges in one sentence."""

    def __init__(self, fraction: float, seed: int = 11) -> None:
        self.fraction = fraction
        self.calls = 0
        self.failures = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Answer:
        with self._lock:
            self.calls += 1
            if self._rng.random() < self.fraction:
                self.failures += 1
                return Answer.error(self._rng.choice([429, 500]))
        if request.schema_name == "NameAnswer":
            return Answer.json({"status": "found", "name": request.participant_text})
        if request.schema_name:
            return Answer.json({"status": "not_found", "age": None, "gender": None, "region": None,
                                "pick": None, "yes": None, "name": None})
        return Answer.text("Thank you, that is noted.")


def server_env(db: Path, twilio: FakeTwilio, model_url: str | None = None, **extra: str) -> dict[str, str]:
    """The child server's environment: the webhook tests' settings, plus the fake model."""
    env = child_env(db, twilio.url, "http://127.0.0.1:9")
    env.update(SEND_RETRY_MAX_SECONDS="0.05", RECOVERY_INTERVAL_SECONDS="1", EVENT_CACHE_SECONDS="30")
    if model_url:
        env.update(OPENAI_API_KEY="sk-test-not-a-key", OPENAI_BASE_URL=model_url,
                   OPENAI_MAX_RETRIES="1", OPENAI_TIMEOUT_SECONDS="5")
    env.update(extra)
    return env


def free_port() -> int:
    """A loopback port nothing listens on now (for a server to be started and restarted on)."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    return port


class ServerProcess:
    """`uvicorn app:app` in a child process on a fixed loopback port, logging to a file
    (a pipe nobody reads would fill up and stall the server)."""

    def __init__(self, env: dict[str, str], port: int, log_path: Path, app: str = "app:app") -> None:
        self.env = env
        self.port = port
        self.log_path = log_path
        self.app = app
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> ServerProcess:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", self.app, "--host", "127.0.0.1", "--port", str(self.port),
                 "--log-level", "warning", "--no-access-log"],
                cwd=ROOT, env=self.env, stdout=log, stderr=log,
            )
        deadline = time.monotonic() + timeout
        while not self._healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"server did not start; its log ends: {self.log_path.read_text()[-2000:]}")
            time.sleep(0.05)
        return self

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1, trust_env=False).status_code == 200
        except httpx.TransportError:
            return False

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flush, as a crash or an OOM kill."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class LoadResult:
    deliveries: int = 0  # POSTs answered 200, duplicates included
    redeliveries: int = 0  # POSTs sent again because the server was down or dropped them
    kills: int = 0
    seconds: float = 0.0


async def _deliver(client: WebhookClient, form: dict[str, str], deadline: float, result: LoadResult) -> None:
    """POST until the server answers 200, as Twilio retries a webhook it got no answer to."""
    while True:
        try:
            answer = await client.post_form("/message", form)
        except ConnectionLost:
            answer = None
        if answer is not None and answer.status == 200:
            result.deliveries += 1
            return
        if answer is not None and answer.status < 500:
            raise AssertionError(f"{form['MessageSid']}: {answer.status} {answer.body[:300]!r}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{form['MessageSid']} not accepted before the deadline")
        result.redeliveries += 1
        await asyncio.sleep(0.05)


async def _talk(client: WebhookClient, forms: list[dict[str, str]], plan: LoadPlan, rng: random.Random,
                deadline: float, result: LoadResult) -> None:
    """One participant: event ID and name in order, then bursts, with some deliveries twice
    (at once, beside the original, or again at the end)."""
    repeated = [form for form in forms if rng.random() < plan.duplicate_fraction]
    at_once = {id(form) for form in repeated if rng.random() < 0.5}
    for form in forms[:2]:
        await _deliver(client, form, deadline, result)
    rest = forms[2:]
    for start in range(0, len(rest), plan.burst):
        burst = rest[start:start + plan.burst]
        burst += [form for form in burst if id(form) in at_once]
        await asyncio.gather(*(_deliver(client, form, deadline, result) for form in burst))
    for form in repeated:
        if id(form) not in at_once or form in forms[:2]:
            await _deliver(client, form, deadline, result)


async def drive(plan: LoadPlan, port: int, *, timeout: float,
                crash: Callable[[], Awaitable[None]] | None = None, kills: int = 0) -> LoadResult:
    """Send the whole plan; with `crash`, call it `kills` times at random moments meanwhile."""
    rng = random.Random(plan.seed)
    result = LoadResult()
    deadline = time.monotonic() + timeout
    client = WebhookClient(port, connections=64)
    gate = asyncio.Semaphore(plan.concurrency)
    talks = plan.conversations()
    started = time.monotonic()

    async def one(forms: list[dict[str, str]], seed: int) -> None:
        async with gate:
            await _talk(client, forms, plan, random.Random(seed), deadline, result)

    async def crasher(load: asyncio.Future) -> None:
        # Random moments within the load: after a random number of accepted deliveries.
        for point in sorted(rng.sample(range(1, len(talks) * plan.messages), kills)):
            while result.deliveries < point and not load.done():
                await asyncio.sleep(0.01)
            if load.done():
                return
            await crash()
            result.kills += 1

    load = asyncio.gather(*(one(forms, rng.random()) for forms in talks.values()))
    try:
        if crash is not None:
            await asyncio.gather(load, crasher(load))
        else:
            await load
    finally:
        await client.close()
    result.seconds = time.monotonic() - started
    return result


# accounting ------------------------------------------------------------------------------


@dataclass
class Accounts:
    messages: int = 0  # distinct MessageSids sent
    recorded_in: int = 0  # inbound interactions stored
    replies_owed: int = 0
    replies_sent: int = 0  # accepted by the fake Twilio
    doubled_replies: int = 0
    problems: list[str] = field(default_factory=list)


def settled(store: SQLiteStore, sids: list[str]) -> bool:
    """Every message processed and no reply waiting to be sent or in a sender's hands."""
    now = datetime.now(timezone.utc)
    if store.pending_inbound(now, 1) or store.pending_replies(now, 1):
        return False
    if any(store.inbound_status(sid) != "done" for sid in sids):
        return False
    return all(reply.status in ("sent", "failed") for reply in owed_replies(store))


def owed_replies(store: SQLiteStore) -> list:
    """The outbox record of every reply the conversation produced."""
    replies = []
    for interaction in store.iter_interactions():
        if interaction.direction == "out":
            reply = store.get_reply(interaction.id)
            if reply is not None:
                replies.append(reply)
    return replies


def account(store: SQLiteStore, plan: LoadPlan, twilio: FakeTwilio, flow: Flow) -> Accounts:
    """What a load left behind, with every way it could be wrong listed in `problems`.

    No reply may reach Twilio twice, not even one in flight when the server was killed:
    a send whose outcome is unknown is looked up in Twilio's message log before any resend.
    """
    accounts = Accounts()
    talks = plan.conversations()
    sent_sids = {form["MessageSid"]: number for number, forms in talks.items() for form in forms}
    accounts.messages = len(sent_sids)

    inbound = Counter(i.id for i in store.iter_interactions() if i.direction == "in")
    accounts.recorded_in = sum(inbound.values())
    for sid in sent_sids:
        if inbound[sid] != 1:
            accounts.problems.append(f"{sid} recorded {inbound[sid]} times")
        if store.inbound_status(sid) != "done":
            accounts.problems.append(f"{sid} inbox status {store.inbound_status(sid)}")
    accounts.problems += [f"{sid} recorded but never sent" for sid in inbound if sid not in sent_sids]

    resting = {name for name, state in flow.graph.states.items() if not state.routing}
    for number, forms in talks.items():
        snapshot = store.load_participant(number)
        if snapshot is None:
            accounts.problems.append(f"{number} has no snapshot")
            continue
        if snapshot.state not in resting:
            accounts.problems.append(f"{number} rests in {snapshot.state!r}, not a waiting state")
        if snapshot.version != len(forms):  # one commit per distinct message, no more
            accounts.problems.append(f"{number} committed {snapshot.version} times for {len(forms)} messages")
        if snapshot.state != "listening" or snapshot.current_event_id != EVENT_ID:
            accounts.problems.append(f"{number} ended in {snapshot.state} / {snapshot.current_event_id}")

    replies = owed_replies(store)
    accounts.replies_owed = len(replies)
    # What `listener stats` prints for the event must agree with the count above.
    stats = collect_stats(store, EVENT_ID)
    expected = dict(participants=len(talks), by_state={"listening": len(talks)}, messages_in=len(sent_sids),
                    messages_out=len(replies), failed_sends=0)
    for name, value in expected.items():
        if getattr(stats, name) != value:
            accounts.problems.append(f"listener stats: {name} is {getattr(stats, name)}, expected {value}")
    accounts.problems += [f"reply {r.id} is {r.status}" for r in replies if r.status != "sent"]
    owed = Counter((r.participant, r.text) for r in replies)
    received = Counter((m["To"].removeprefix("whatsapp:"), m["Body"]) for m in twilio.messages)
    accounts.replies_sent = sum(received.values())
    for key in owed.keys() | received.keys():
        extra = received[key] - owed[key]
        if extra < 0:
            accounts.problems.append(f"{-extra} reply(ies) to {key[0]} never reached Twilio: {key[1]!r}")
        elif extra > 0:
            accounts.doubled_replies += extra
            accounts.problems.append(f"{key[1]!r} reached {key[0]} {received[key]} times, owed {owed[key]}")
    return accounts
