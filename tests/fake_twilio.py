"""A local stand-in for Twilio's REST API that the real `twilio` client talks to.

Messages: `POST /2010-04-01/Accounts/<sid>/Messages.json` with Basic auth is answered as
Twilio does (201 and a message resource with an `SM...` SID); every attempt is recorded.
It can be told to fail the next sends (500, 429 with or without Retry-After, 400 + 63016),
to answer 429 to everything for a while, to accept a message and answer late, or to
accept it and drop the connection without answering (the two ways a send's outcome
becomes unknown to the sender); `latency` delays every answer, as a remote API would.

The message log: `GET .../Messages.json` lists accepted messages as Twilio does: newest
first, filtered by `To`, `From` and `DateSent` (a day, or `DateSent<` / `DateSent>` for on
or before / on or after; a message still queued has no `date_sent` and matches none),
paged with `PageSize`, `Page` and `PageToken`, with Twilio's paging fields and RFC 2822
dates. With `mps` set, accepted messages wait in a queue drained at that many messages
per second, as Twilio queues what exceeds a WhatsApp sender's throughput: `queued` with
no `date_sent` until their turn.

Media is served the way Twilio does: an authenticated URL on the API host that redirects
to a CDN URL on another host (`localhost` instead of `127.0.0.1`), recording whether
credentials reached the CDN; a media item can be made to hang until released.
"""

from __future__ import annotations

import base64
import json
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from email.utils import format_datetime
from urllib.parse import parse_qsl, urlencode, urlsplit

from local_server import LocalServer, QuietHandler

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "test-auth-token-not-a-secret"
MESSAGES = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)/Messages\.json$")
MEDIA = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)/Messages/(?P<message>\w+)/Media/(?P<media>\w+)$")
CDN = re.compile(r"^/cdn/(?P<media>\w+)$")
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


@dataclass
class MediaItem:
    data: bytes
    content_type: str
    gate: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class Plan:
    """What the fake does with one send: fail with `status` / `code` (and Retry-After),
    or accept it and answer after `late` seconds, or accept it and drop the connection."""

    status: int | None = None
    code: int | None = None
    retry_after: str | None = None
    late: float = 0.0
    drop: bool = False


@dataclass
class LoggedMessage:
    sid: str
    to: str
    from_: str
    body: str
    created: datetime
    sends_at: datetime  # when it leaves Twilio's queue


def rfc2822(moment: datetime) -> str:
    """Twilio's date format: `Mon, 16 Aug 2010 03:45:01 +0000`."""
    return format_datetime(moment.astimezone(timezone.utc).replace(microsecond=0))


def _date_filter(value: str) -> datetime | date:
    """`YYYY-MM-DD` (a day) or an ISO 8601 time, as the twilio client sends a datetime."""
    if len(value) == 10:
        return date.fromisoformat(value)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


class FakeTwilio:
    def __init__(
        self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN, mps: float | None = None,
        latency: float = 0.0,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.mps = mps
        self.latency = latency  # seconds every send is answered after (Twilio's API takes time too)
        self.messages: list[dict[str, str]] = []  # accepted sends, in order
        self.attempts: list[dict[str, str]] = []  # every send, accepted or not
        self.attempt_times: list[tuple[float, int]] = []  # (monotonic time, status answered) per send
        self.list_requests: list[dict[str, str]] = []  # every read of the message log
        self.media_requests: list[dict[str, str | None]] = []
        self._log: list[LoggedMessage] = []
        self._queue_free_at: datetime | None = None
        self._plans: list[Plan | None] = []  # None: that send succeeds
        self._random_failures: tuple[float, list[tuple[int, int]], random.Random] | None = None
        self._limited_until = 0.0
        self._limited_retry_after: str | None = None
        self._media: dict[str, MediaItem] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.server = LocalServer(_Handler, owner=self)
        self.url = self.server.url

    def start(self) -> FakeTwilio:
        self.server.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        for item in self._media.values():
            item.gate.set()
        self.server.stop()

    # configuration ---------------------------------------------------------------

    def fail_next(self, count: int, status: int, code: int, after: int = 0, retry_after: float | None = None) -> None:
        """After `after` more sends succeed, the next `count` answer `status` with Twilio
        error `code` (and a Retry-After header when given)."""
        header = None if retry_after is None else f"{retry_after:g}"
        with self._lock:
            self._plans.extend([None] * after + [Plan(status, code, header)] * count)

    def answer_late(self, seconds: float, count: int = 1) -> None:
        """The next `count` sends are accepted at once and answered `seconds` later."""
        with self._lock:
            self._plans.extend([Plan(late=seconds)] * count)

    def drop_after_accept(self, count: int = 1) -> None:
        """The next `count` sends are accepted, then the connection is closed unanswered."""
        with self._lock:
            self._plans.extend([Plan(drop=True)] * count)

    def rate_limit_for(self, seconds: float, retry_after: float | None = None) -> None:
        """Every send in the next `seconds` is answered 429 (20429), with Retry-After when given."""
        with self._lock:
            self._limited_until = time.monotonic() + seconds
            self._limited_retry_after = None if retry_after is None else f"{retry_after:g}"

    def fail_randomly(self, fraction: float, errors: list[tuple[int, int]], seed: int = 0) -> None:
        """From now on, each send fails with probability `fraction`, with one of `errors`
        (status, code) picked at random; seeded, so a failing run can be replayed."""
        with self._lock:
            self._random_failures = (fraction, errors, random.Random(seed))

    def recover(self) -> None:
        """Forget the failures still planned: the next sends succeed."""
        with self._lock:
            self._plans.clear()
            self._random_failures = None
            self._limited_until = 0.0

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

    # what it saw -----------------------------------------------------------------

    def sent_to(self, number: str) -> list[str]:
        with self._lock:
            return [m["Body"] for m in self.messages if m["To"] == f"whatsapp:{number}"]

    def queue_delay(self, now: datetime | None = None) -> float:
        """Seconds a message accepted now would wait in the queue (with `mps` set)."""
        with self._lock:
            if self._queue_free_at is None:
                return 0.0
            return max(0.0, (self._queue_free_at - (now or datetime.now(timezone.utc))).total_seconds())

    # behaviour -----------------------------------------------------------------

    def authorised(self, header: str | None) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return header == f"Basic {expected}"

    def _plan(self) -> Plan | None:
        if time.monotonic() < self._limited_until:
            return Plan(429, 20429, self._limited_retry_after)
        plan = self._plans.pop(0) if self._plans else None
        if plan is None and self._random_failures is not None:
            fraction, errors, rng = self._random_failures
            if rng.random() < fraction:
                status, code = rng.choice(errors)
                plan = Plan(status, code)
        return plan

    def create_message(self, form: dict[str, str]) -> tuple[int, dict, Plan]:
        with self._lock:
            self.attempts.append(form)
            plan = self._plan() or Plan()
            if plan.status is not None:
                self.attempt_times.append((time.monotonic(), plan.status))
                failure = {"code": plan.code, "message": f"fake failure {plan.code}", "status": plan.status}
                return plan.status, failure, plan
            self.attempt_times.append((time.monotonic(), 201))
            sid = "SM" + uuid.uuid4().hex
            self.messages.append({**form, "Sid": sid})
            now = datetime.now(timezone.utc)
            sends_at = now
            if self.mps:
                sends_at = max(now, self._queue_free_at or now)
                self._queue_free_at = sends_at + timedelta(seconds=1 / self.mps)
            entry = LoggedMessage(sid, form.get("To", ""), form.get("From", ""), form.get("Body", ""), now, sends_at)
            self._log.append(entry)
        # As Twilio answers a create: queued, not sent yet.
        return 201, {**self._resource(entry, now), "status": "queued", "date_sent": None}, plan

    def _resource(self, entry: LoggedMessage, now: datetime) -> dict:
        sent = entry.sends_at <= now
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": entry.body,
            "date_created": rfc2822(entry.created),
            "date_sent": rfc2822(entry.sends_at) if sent else None,
            "date_updated": rfc2822(entry.sends_at if sent else entry.created),
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": entry.from_,
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": entry.sid,
            "status": "sent" if sent else "queued",
            "subresource_uris": {"media": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{entry.sid}/Media.json"},
            "to": entry.to,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{entry.sid}.json",
        }

    def list_messages(self, path: str, query: dict[str, str]) -> tuple[int, dict]:
        """One page of the message log, as `GET Messages.json` answers it."""
        now = datetime.now(timezone.utc)
        with self._lock:
            self.list_requests.append(query)
            entries = list(self._log)
        try:
            size = min(MAX_PAGE_SIZE, int(query.get("PageSize", DEFAULT_PAGE_SIZE)))
            page = int(query.get("Page", 0))
            chosen = [e for e in entries if self._matches(e, query, now)]
        except ValueError as exc:
            return 400, {"code": 20001, "message": f"Invalid parameter: {exc}", "status": 400}
        # Newest first by the time sent; a message still queued is newer than any sent.
        chosen.sort(key=lambda e: (e.sends_at > now, e.sends_at, e.created), reverse=True)
        rows = chosen[page * size:(page + 1) * size]
        filters = {key: value for key, value in query.items() if key not in ("Page", "PageSize", "PageToken")}

        def uri(number: int, token: str | None = None) -> str:
            params = {**filters, "PageSize": size, "Page": number, **({"PageToken": token} if token else {})}
            return f"{path}?{urlencode(params)}"

        more = len(chosen) > (page + 1) * size
        return 200, {
            "messages": [self._resource(e, now) for e in rows],
            "end": page * size + max(0, len(rows) - 1),
            "first_page_uri": uri(0),
            "next_page_uri": uri(page + 1, f"PA{rows[-1].sid}") if more and rows else None,
            "previous_page_uri": uri(page - 1, f"PB{rows[0].sid}") if page > 0 and rows else None,
            "page": page,
            "page_size": size,
            "start": page * size,
            "uri": uri(page, query.get("PageToken")),
        }

    @staticmethod
    def _matches(entry: LoggedMessage, query: dict[str, str], now: datetime) -> bool:
        if "To" in query and entry.to != query["To"]:
            return False
        if "From" in query and entry.from_ != query["From"]:
            return False
        date_filters = {key: query[key] for key in ("DateSent", "DateSent<", "DateSent>") if key in query}
        if not date_filters:
            return True
        if entry.sends_at > now:
            return False  # queued: no date_sent to match
        sent = entry.sends_at.replace(microsecond=0)
        for key, raw in date_filters.items():
            value = _date_filter(raw)
            bound = _midnight(value) if not isinstance(value, datetime) else value
            if key == "DateSent" and sent.date() != (value.date() if isinstance(value, datetime) else value):
                return False
            if key == "DateSent<" and sent > bound:
                return False
            if key == "DateSent>" and sent < bound:
                return False
        return True


class _Handler(QuietHandler):
    # Headers and body go out in two writes: without TCP_NODELAY the client's delayed ACK
    # adds ~40 ms to every answer on loopback, which Twilio's API does not.
    disable_nagle_algorithm = True

    @property
    def fake(self) -> FakeTwilio:
        return self.server.owner

    def _authorised(self, account: str) -> bool:
        if account != self.fake.account_sid or not self.fake.authorised(self.headers.get("Authorization")):
            self.answer(401, b'{"code": 20003, "message": "Authenticate", "status": 401}')
            return False
        return True

    def do_POST(self) -> None:
        body = self.read_body()
        match = MESSAGES.match(self.path)
        if not match:
            self.answer(404, b'{"code": 20404, "message": "not found", "status": 404}')
            return
        if not self._authorised(match["account"]):
            return
        form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        status, payload, plan = self.fake.create_message(form)
        if plan.drop:
            self.close_connection = True  # accepted, and no answer ever comes
            return
        delay = plan.late or self.fake.latency
        if delay and self.fake._stopping.wait(delay):
            return
        headers = {"Retry-After": plan.retry_after} if plan.retry_after else None
        self.answer(status, json.dumps(payload).encode(), headers=headers)

    def do_GET(self) -> None:
        fake = self.fake
        url = urlsplit(self.path)
        if match := MESSAGES.match(url.path):
            if not self._authorised(match["account"]):
                return
            status, payload = fake.list_messages(url.path, dict(parse_qsl(url.query, keep_blank_values=True)))
            self.answer(status, json.dumps(payload).encode())
            return
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
