"""A store that stops answering, seen from outside: signed webhooks against the real app.

Each fault is made the way it happens: a second OS process holding SQLite's write lock,
the server's own writes refused by the kernel (its file-size limit lowered to nothing, so
every write to the database or its WAL fails as on a dead disk), and a Firestore
emulator of the test's own paused with SIGSTOP. What must hold: every webhook is
answered, 200 or 503, within the inbox deadline plus a margin; nothing hangs, nothing
gets a 500 or a traceback; `/healthz` says 503 while the store cannot take a write; and
once the store is back, new webhooks are answered at once and every delivery (Twilio's
retries of those answered 503 included) is processed exactly once.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from firestore_fixtures import find_launcher, start_emulator, stop, unavailable
from harness import fixture_events
from reliability_support import ServerProcess, free_port, server_env
from sqlite_lock import write_lock_held
from webhook_support import (  # noqa: F401
    PUBLIC_URL,
    AppServer,
    db_path,
    fake_twilio,
    make_settings,
    message_form,
    signature,
    start_app,
    wait_for,
)

from listener.channel.app import create_app
from listener.store import Store, open_store

ROOT = Path(__file__).resolve().parent.parent
PEOPLE = [f"+1555000{n:04d}" for n in range(7100, 7104)]
def sid(n: int) -> str:
    return f"SM{n:032d}"


def post(url: str, form: dict[str, str], timeout: float = 30.0) -> tuple[int, float, str]:
    """POST a signed delivery; its status, how long the answer took, and its body."""
    started = time.monotonic()
    response = httpx.post(
        f"{url}/message", data=form, headers={"X-Twilio-Signature": signature("/message", form)},
        timeout=timeout, trust_env=False,
    )
    return response.status_code, time.monotonic() - started, response.text


def post_all(url: str, forms: list[dict[str, str]]) -> list[tuple[int, float, str]]:
    """Every form at once, each from its own thread, as Twilio's deliveries arrive."""
    with ThreadPoolExecutor(max_workers=len(forms)) as pool:
        return list(pool.map(lambda form: post(url, form), forms))


def health(url: str) -> tuple[int, float]:
    started = time.monotonic()
    response = httpx.get(f"{url}/healthz", timeout=30, trust_env=False)
    return response.status_code, time.monotonic() - started


def recorded_once(store: Store, sids: list[str]) -> dict[str, int]:
    """How many inbound interactions each delivery left (1 each: recorded once)."""
    counts = dict.fromkeys(sids, 0)
    for interaction in store.iter_interactions():
        if interaction.direction == "in" and interaction.id in counts:
            counts[interaction.id] += 1
    return counts


def settled(store: Store, sids: list[str]) -> bool:
    """These deliveries processed and each of their replies sent (as `AppServer.settled`)."""
    return all(
        store.inbound_status(sid) == "done"
        and all(reply.status == "sent" for reply in store.iter_replies(["pending", "sending", "sent"])
                if reply.in_reply_to == sid)
        for sid in sids
    )


def webhook_tracebacks(log: str) -> list[str]:
    """Log lines of the web layer (routes, uvicorn) with a traceback, or a 500 at all.
    The worker's own logging of a failed processing attempt is not the webhook's answer."""
    return [
        line for line in log.splitlines()
        if "Exception in ASGI application" in line or "Internal Server Error" in line
        or ("Traceback" in line and ('"logger": "listener.channel' in line or '"logger": "uvicorn' in line))
    ]


def redeliver(url: str, forms: list[dict[str, str]], answers: list[tuple[int, float, str]]) -> None:
    """Twilio's retry of each delivery that was answered 503: now answered 200."""
    for form, (status, _, _) in zip(forms, answers, strict=True):
        if status == 503:
            assert post(url, form)[0] == 200


# SQLite: another process holds the write lock --------------------------------------------


def test_a_write_lock_held_by_another_process_gets_503s_then_every_delivery_is_processed(start_app, db_path):
    server = start_app(
        store_timeout_seconds=1, inbox_timeout_seconds=2, recovery_interval_seconds=0.5, inbox_threads=4
    )
    joined = [message_form(sid(n), person, "hi, I'm at TOWNHALL") for n, person in enumerate(PEOPLE)]
    assert [answer[0] for answer in post_all(server.url, joined)] == [200] * len(PEOPLE)
    wait_for(lambda: server.settled([form["MessageSid"] for form in joined]), what="joining")

    during = [message_form(sid(100 + n), PEOPLE[n % 4], f"thought {n}") for n in range(12)]
    with write_lock_held(db_path):
        answers = post_all(server.url, during)
        held_health = health(server.url)
    for status, seconds, body in answers:
        assert status == 503, body
        assert seconds < 2 + 3, f"answered after {seconds:.1f}s, past the inbox deadline"
        assert "Traceback" not in body
    assert held_health[0] == 503 and held_health[1] < 2 + 3

    # The other process has let go: the next delivery is recorded at once...
    status, seconds, _ = post(server.url, message_form(sid(200), PEOPLE[0], "after the lock"))
    assert (status, seconds < 1.0) == (200, True), f"{status} after {seconds:.2f}s"
    assert health(server.url)[0] == 200
    # ...Twilio's retries of the 503s are taken, and every delivery is processed once.
    redeliver(server.url, during, answers)
    everything = [form["MessageSid"] for form in during] + [sid(200)]
    wait_for(lambda: server.settled(everything), timeout=30, what="every delivery to be processed")
    assert recorded_once(server.store, everything) == dict.fromkeys(everything, 1)


def test_sigterm_stops_the_server_within_15_seconds_while_another_process_holds_the_lock(
    tmp_path, db_path, fake_twilio
):
    server = ServerProcess(server_env(db_path, fake_twilio), free_port(), tmp_path / "server.log").start()
    url = f"http://127.0.0.1:{server.port}"
    try:
        with write_lock_held(db_path), ThreadPoolExecutor(max_workers=6) as pool:
            in_flight = [
                pool.submit(post, url, message_form(sid(300 + n), PEOPLE[n % 4], f"stuck {n}")) for n in range(6)
            ]
            time.sleep(1.0)  # the deliveries are waiting on the store
            started = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            try:
                server.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pytest.fail("the server was still running 30 s after SIGTERM")
            stopped_after = time.monotonic() - started
            answered = [future.result(timeout=30)[0] for future in in_flight if future.exception() is None]
    finally:
        server.kill()
    assert stopped_after < 15, f"SIGTERM took {stopped_after:.1f}s"
    assert set(answered) <= {503}, "a delivery the store never took was answered"
    assert webhook_tracebacks((tmp_path / "server.log").read_text()) == []


# SQLite: the disk refuses writes ----------------------------------------------------------


class PipedServer(ServerProcess):
    """`uvicorn app:app` whose output goes to a pipe the test reads: a log *file* would
    itself be refused by the file-size limit the test lowers."""

    def start(self, timeout: float = 30.0) -> PipedServer:
        self.output: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", self.app, "--host", "127.0.0.1", "--port", str(self.port),
             "--log-level", "warning", "--no-access-log"],
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        threading.Thread(target=lambda: self.output.extend(self.process.stdout), daemon=True).start()
        wait_for(self._healthy, timeout=timeout, what="the server to start")
        return self


def test_a_disk_that_refuses_writes_gets_503_without_a_traceback_and_healthz_says_so(tmp_path, db_path, fake_twilio):
    """The kernel refuses the server's writes past byte 1 of any file (RLIMIT_FSIZE; Python
    ignores SIGXFSZ, so write() fails with EFBIG): SQLite's disk I/O and disk-full errors."""
    server = PipedServer(server_env(db_path, fake_twilio), free_port(), tmp_path / "unused.log").start()
    url = f"http://127.0.0.1:{server.port}"
    _, unlimited = resource.prlimit(server.pid, resource.RLIMIT_FSIZE)
    refused = message_form(sid(400), PEOPLE[0], "hi, I'm at TOWNHALL")
    store = open_store(f"sqlite:///{db_path}")
    try:
        assert post(url, message_form(sid(399), PEOPLE[1], "hi, I'm at TOWNHALL"))[0] == 200
        wait_for(lambda: settled(store, [sid(399)]), what="a first delivery, before the disk fails")
        resource.prlimit(server.pid, resource.RLIMIT_FSIZE, (1, unlimited))
        status, seconds, body = post(url, refused)
        assert (status, body) == (503, '{"detail":"store unavailable, try again"}')
        assert seconds < 5 + 3
        assert health(url)[0] == 503

        resource.prlimit(server.pid, resource.RLIMIT_FSIZE, (unlimited, unlimited))
        assert health(url)[0] == 200
        assert post(url, refused)[0] == 200, "Twilio's retry of the refused delivery"
        wait_for(lambda: settled(store, [sid(400)]), timeout=30, what="the retried delivery")
    finally:
        server.stop()
        store.close()
    output = "".join(server.output)
    assert webhook_tracebacks(output) == []
    assert "/message answered 503: SQLite store: disk I/O error" in output


# Firestore: the emulator stops answering --------------------------------------------------


@pytest.fixture
def own_emulator(monkeypatch) -> Iterator[tuple[subprocess.Popen, str]]:
    """An emulator of this test's own, on a free port: the test pauses it, and must never
    pause the one the other tests share. The process's Firestore clients are pointed at it."""
    launcher = find_launcher()
    if launcher is None:
        unavailable("the Firestore emulator is not installed")
    process, host = start_emulator(launcher, Path(tempfile.mkdtemp(prefix="listener-paused-")) / "emulator.log")
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", host)
    try:
        yield process, host
    finally:
        os.killpg(process.pid, signal.SIGCONT)
        stop(process)


def test_a_paused_firestore_gets_quick_503s_and_after_it_resumes_nothing_is_lost_or_doubled(
    own_emulator, tmp_path, fake_twilio
):
    emulator, host = own_emulator
    url = "firestore://listener-paused"
    store = open_store(url)
    for event in fixture_events().values():
        store.put_event(event)
    settings = make_settings(
        tmp_path / "unused.db", fake_twilio, store_url=url, firestore_emulator_host=host,
        store_timeout_seconds=4, inbox_timeout_seconds=2, inbox_threads=4, recovery_interval_seconds=0.5,
    )
    server = AppServer(create_app(settings), tmp_path / "unused.db")
    server.store.close()
    server.store = open_store(url)  # the test reads what the app wrote
    server.start()
    try:
        joined = [message_form(sid(500 + n), person, "hi, I'm at TOWNHALL") for n, person in enumerate(PEOPLE)]
        assert [answer[0] for answer in post_all(server.url, joined)] == [200] * len(PEOPLE)
        wait_for(lambda: server.settled([form["MessageSid"] for form in joined]), timeout=30, what="joining")

        during = [message_form(sid(600 + n), PEOPLE[n % 4], f"thought {n}") for n in range(12)]
        os.killpg(emulator.pid, signal.SIGSTOP)
        paused_at = time.monotonic()
        answers = post_all(server.url, during)
        for status, seconds, body in answers:
            assert status in (200, 503), body
            assert seconds < 2 + 3, f"answered after {seconds:.1f}s, past the inbox deadline"
        # Every inbox thread now waits on the paused store (until STORE_TIMEOUT_SECONDS):
        # further deliveries are refused at once instead of queueing behind them.
        time.sleep(max(0.0, paused_at + 1.5 - time.monotonic()))
        refused = [message_form(sid(700 + n), PEOPLE[n], "refused at once") for n in range(2)]
        for form in refused:
            status, seconds, _ = post(server.url, form)
            assert (status, seconds < 1.0) == (503, True), f"{status} after {seconds:.2f}s"
        assert health(server.url)[0] == 503
        # Resumed before the stuck calls' deadline: their recordings land late, and the server
        # says it can take writes again no later than that deadline (STORE_TIMEOUT_SECONDS).
        os.killpg(emulator.pid, signal.SIGCONT)
        wait_for(lambda: health(server.url)[0] == 200, timeout=4 + 2, what="the store to take writes again")

        redeliver(server.url, during, answers)
        redeliver(server.url, refused, [(503, 0, "")] * len(refused))
        everything = [form["MessageSid"] for form in during + refused]
        wait_for(lambda: server.settled(everything), timeout=60, what="every delivery to be processed")
        assert recorded_once(server.store, everything) == dict.fromkeys(everything, 1)
    finally:
        server.stop()
        store.close()
