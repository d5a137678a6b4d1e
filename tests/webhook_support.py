"""What the webhook tests share: settings pointing at local fakes, the real app served by
uvicorn on a loopback port, signed Twilio webhooks, and waiting for the worker."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from harness import fixture_events
from twilio.request_validator import RequestValidator

from listener.channel.app import create_app
from listener.config import Settings
from listener.store.sqlite import SQLiteStore

PUBLIC_URL = "https://listener.example.test"
TWILIO_NUMBER = "+15550009999"


def make_settings(db_path: Path, twilio: FakeTwilio, **overrides) -> Settings:
    values = dict(
        store_url=f"sqlite:///{db_path}",
        environment="test",
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_number=f"whatsapp:{TWILIO_NUMBER}",
        twilio_api_url=twilio.url,
        public_url=PUBLIC_URL,
        twilio_media_hosts="127.0.0.1",
        send_retry_base_seconds=0.01,
        send_retry_max_seconds=0.05,
        recovery_grace_seconds=0,
        recovery_interval_seconds=60,
        event_cache_seconds=0,
        openai_api_key=None,
    )
    values.update(overrides)
    return Settings(**values)


def seed_events(db_path: Path) -> None:
    store = SQLiteStore(db_path)
    for event in fixture_events().values():
        store.put_event(event)
    store.close()


def signature(path: str, params, token: str = AUTH_TOKEN, base: str = PUBLIC_URL) -> str:
    return RequestValidator(token).compute_signature(base + path, params)


def message_form(sid: str, sender: str, body: str = "", media: list[tuple[str, str]] = ()) -> dict[str, str]:
    """The fields Twilio posts for one WhatsApp message."""
    form = {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": f"whatsapp:{sender}",
        "To": f"whatsapp:{TWILIO_NUMBER}",
        "Body": body,
        "NumMedia": str(len(media)),
        "ProfileName": "Test Participant",
        "WaId": sender.lstrip("+"),
    }
    for index, (url, content_type) in enumerate(media):
        form[f"MediaUrl{index}"] = url
        form[f"MediaContentType{index}"] = content_type
    return form


def wait_for(predicate: Callable[[], object], timeout: float = 10.0, what: str = "condition") -> object:
    """Poll until `predicate()` is truthy; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class AppServer:
    """The real app served by uvicorn in a thread, as `uvicorn app:app` would serve it."""

    def __init__(self, app, db_path: Path) -> None:
        self.sock = free_socket()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(app, log_level="warning", proxy_headers=True, forwarded_allow_ips="127.0.0.1")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.client = httpx.Client(base_url=self.url, timeout=10, trust_env=False)
        self.store = SQLiteStore(db_path)  # a second connection, to look at what the app wrote

    def start(self) -> AppServer:
        self.thread.start()
        wait_for(lambda: self.server.started, what="uvicorn to start")
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.client.close()
        self.store.close()
        self.sock.close()

    def post(self, path: str, params, *, sign: bool = True, headers: dict | None = None, **kwargs) -> httpx.Response:
        """POST a form as Twilio would, signed for PUBLIC_URL + path unless told otherwise."""
        all_headers = {"X-Twilio-Signature": signature(path, params)} if sign else {}
        all_headers.update(headers or {})
        return self.client.post(path, data=params, headers=all_headers, **kwargs)

    def settled(self, sids: list[str]) -> bool:
        """Every one of these messages processed and each of their replies sent or failed
        (neither waiting nor in a sender's hands)."""
        return all(self.store.inbound_status(sid) == "done" and self._replies_settled(sid) for sid in sids)

    def _replies_settled(self, sid: str) -> bool:
        for number in itertools.count(1):
            reply = self.store.get_reply(f"{sid}-r{number}")
            if reply is None:
                return True
            if reply.status in ("pending", "sending"):
                return False


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio().start()
    yield fake
    fake.stop()


@pytest.fixture
def db_path(tmp_path) -> Path:
    path = tmp_path / "listener.db"
    seed_events(path)
    return path


@pytest.fixture
def start_app(db_path, fake_twilio) -> Iterator[Callable[..., AppServer]]:
    """Start the app with test settings (overridable) and optional transcriber/sender."""
    servers: list[AppServer] = []

    def start(transcriber=None, sender=None, **overrides) -> AppServer:
        settings = make_settings(db_path, fake_twilio, **overrides)
        server = AppServer(create_app(settings, transcriber=transcriber, sender=sender), db_path).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def app_server(start_app) -> AppServer:
    return start_app()
