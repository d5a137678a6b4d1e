"""A local stand-in for Twilio's REST API that the real `twilio` client talks to.

It accepts `POST /2010-04-01/Accounts/<sid>/Messages.json` with Basic auth and answers
like Twilio (201 and a message resource with an `SM...` SID), records every attempt,
and can be told to fail the next N sends with a status and an error code (500, 429,
or 400 + 63016). It also serves media the way Twilio does: an authenticated URL on the
API host that redirects to a CDN URL on another host (`localhost` instead of
`127.0.0.1`), recording whether credentials reached the CDN; a media item can be made
to hang until released.
"""

from __future__ import annotations

import base64
import json
import random
import re
import threading
import uuid
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from local_server import LocalServer, QuietHandler

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "test-auth-token-not-a-secret"
MESSAGES = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)/Messages\.json$")
MEDIA = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)/Messages/(?P<message>\w+)/Media/(?P<media>\w+)$")
CDN = re.compile(r"^/cdn/(?P<media>\w+)$")


@dataclass
class MediaItem:
    data: bytes
    content_type: str
    gate: threading.Event = field(default_factory=threading.Event)


class FakeTwilio:
    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: list[dict[str, str]] = []  # accepted sends, in order
        self.attempts: list[dict[str, str]] = []  # every send, accepted or not
        self.media_requests: list[dict[str, str | None]] = []
        self._failures: list[tuple[int, int] | None] = []  # None: that send succeeds
        self._random_failures: tuple[float, list[tuple[int, int]], random.Random] | None = None
        self._media: dict[str, MediaItem] = {}
        self._lock = threading.Lock()
        self.server = LocalServer(_Handler, owner=self)
        self.url = self.server.url

    def start(self) -> FakeTwilio:
        self.server.start()
        return self

    def stop(self) -> None:
        for item in self._media.values():
            item.gate.set()
        self.server.stop()

    # configuration ---------------------------------------------------------------

    def fail_next(self, count: int, status: int, code: int, after: int = 0) -> None:
        """After `after` more sends succeed, the next `count` answer `status` with Twilio
        error `code`."""
        with self._lock:
            self._failures.extend([None] * after + [(status, code)] * count)

    def fail_randomly(self, fraction: float, errors: list[tuple[int, int]], seed: int = 0) -> None:
        """From now on, each send fails with probability `fraction`, with one of `errors`
        (status, code) picked at random; seeded, so a failing run can be replayed."""
        with self._lock:
            self._random_failures = (fraction, errors, random.Random(seed))

    def recover(self) -> None:
        """Forget the failures still planned: the next sends succeed."""
        with self._lock:
            self._failures.clear()
            self._random_failures = None

    def add_media(self, data: bytes, content_type: str, hang: bool = False) -> str:
        """Serve `data`; the URL a webhook's MediaUrl0 would carry."""
        media_sid = "ME" + uuid.uuid4().hex
        item = MediaItem(data, content_type)
        if not hang:
            item.gate.set()
        self._media[media_sid] = item
        return f"{self.url}/2010-04-01/Accounts/{self.account_sid}/Messages/MM{uuid.uuid4().hex}/Media/{media_sid}"

    def release_media(self) -> None:
        for item in self._media.values():
            item.gate.set()

    def sent_to(self, number: str) -> list[str]:
        with self._lock:
            return [m["Body"] for m in self.messages if m["To"] == f"whatsapp:{number}"]

    # behaviour -----------------------------------------------------------------

    def authorised(self, header: str | None) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return header == f"Basic {expected}"

    def create_message(self, form: dict[str, str]) -> tuple[int, dict]:
        with self._lock:
            self.attempts.append(form)
            failure = self._failures.pop(0) if self._failures else None
            if failure is None and self._random_failures is not None:
                fraction, errors, rng = self._random_failures
                if rng.random() < fraction:
                    failure = rng.choice(errors)
            if failure is not None:
                status, code = failure
                return status, {"code": code, "message": f"fake failure {code}", "status": status}
            sid = "SM" + uuid.uuid4().hex
            self.messages.append({**form, "Sid": sid})
        return 201, {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": form.get("To"),
            "from": form.get("From"),
            "body": form.get("Body"),
            "status": "queued",
            "num_segments": "1",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }


class _Handler(QuietHandler):
    @property
    def fake(self) -> FakeTwilio:
        return self.server.owner

    def do_POST(self) -> None:
        body = self.read_body()
        match = MESSAGES.match(self.path)
        if not match:
            self.answer(404, b'{"code": 20404, "message": "not found", "status": 404}')
            return
        if match["account"] != self.fake.account_sid or not self.fake.authorised(self.headers.get("Authorization")):
            self.answer(401, b'{"code": 20003, "message": "Authenticate", "status": 401}')
            return
        form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        status, payload = self.fake.create_message(form)
        self.answer(status, json.dumps(payload).encode())

    def do_GET(self) -> None:
        fake = self.fake
        if match := MEDIA.match(self.path):
            fake.media_requests.append({"path": "api", "authorization": self.headers.get("Authorization")})
            if not fake.authorised(self.headers.get("Authorization")):
                self.answer(401, b"{}")
                return
            location = f"http://localhost:{fake.server.port}/cdn/{match['media']}"
            self.answer(307, headers={"Location": location})
            return
        if match := CDN.match(self.path):
            fake.media_requests.append({"path": "cdn", "authorization": self.headers.get("Authorization")})
            item = fake._media.get(match["media"])
            if item is None:
                self.answer(404)
                return
            item.gate.wait(timeout=30)
            self.answer(200, item.data, content_type=item.content_type)
            return
        self.answer(404)
