"""Senders: how one reply text reaches a participant's WhatsApp.

`TwilioSender` uses the official `twilio` client (its asynchronous HTTP client, so the
event loop never waits on a socket) pointed at `TWILIO_API_URL`. Every request it makes has
a deadline (`SEND_TIMEOUT_SECONDS`), and it can read Twilio's message log back, so a send
whose outcome is unknown is looked up before it is sent again. `ConsoleSender` prints
replies so `listener serve` works on a fresh machine without a Twilio account. Retrying,
pacing, splitting long texts and recording what happened is
`listener.processing.delivery`'s job.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Protocol, TextIO, runtime_checkable

import aiohttp
from pydantic import BaseModel
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from listener.config import Settings
from listener.masking import mask_phone

MAX_MESSAGE_CHARS = 1600
SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*\s+")
WHITESPACE = re.compile(r"\s+")
WHATSAPP_PREFIX = "whatsapp:"
# One page of the message log is read per lookup: the newest messages to one participant.
LOOKUP_PAGE_SIZE = 100


class SendError(Exception):
    """A request to Twilio that did not go through.

    `permanent` ones (bad number, outside the 24-hour window: 63016) will fail the same
    way again; the others (429, 5xx, network) may not. `unknown` ones may have reached
    Twilio all the same (a deadline passed, the connection dropped after the request went
    out, a 5xx): the message may exist, so it must be looked up before it is sent again.
    `retry_after` is Twilio's Retry-After on a 429, in seconds.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        code: int | None = None,
        status: int | None = None,
        unknown: bool = False,
        retry_after: float | None = None,
    ):
        super().__init__(message)
        self.permanent = permanent
        self.code = code
        self.status = status
        self.unknown = unknown
        self.retry_after = retry_after


class SentMessage(BaseModel):
    """One outbound message as Twilio's message log shows it."""

    sid: str
    body: str
    created_at: datetime


class Sender(Protocol):
    async def send(self, to: str, text: str) -> str | None:
        """Send one text of at most 1,600 characters to `to` (`+15550001111`); the
        provider's message SID, or None when the sender has none."""

    async def close(self) -> None: ...


@runtime_checkable
class MessageLog(Protocol):
    """A sender whose provider keeps a log of what it sent, to resolve unknown outcomes."""

    async def sent_since(self, to: str, since: datetime) -> list[SentMessage]:
        """Messages from our number to `to` created at or after `since` (newest first)."""


def whatsapp_address(number: str) -> str:
    """`+15550001111` or `whatsapp:+15550001111` -> `whatsapp:+15550001111`."""
    bare = number.strip().removeprefix(WHATSAPP_PREFIX).strip()
    return f"{WHATSAPP_PREFIX}{bare}"


def split_text(text: str, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """Cut a text into parts of at most `limit` characters, at the last sentence end that
    fits in the second half of a part, else the last whitespace, else (one endless word)
    at the limit."""
    rest = text.strip()
    parts: list[str] = []
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = 0
        for match in SENTENCE_END.finditer(window):
            cut = match.end()
        if cut <= limit // 2:
            spaces = [match.end() for match in WHITESPACE.finditer(window)]
            cut = spaces[-1] if spaces else limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


class RateLimited(Exception):
    """Twilio answered 429; `retry_after` is its Retry-After header in seconds, if any."""

    def __init__(self, code: int | None, retry_after: float | None) -> None:
        super().__init__(f"Twilio answered 429 (code {code})")
        self.code = code
        self.retry_after = retry_after


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: a number of seconds, or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


class DeadlineHttpClient(AsyncTwilioHttpClient):
    """The twilio package's async HTTP client, with a deadline on every request.

    `AsyncTwilioHttpClient` applies only a timeout passed with each request, and the
    resources' `create_async` / `list_async` pass none; it then hands aiohttp
    `timeout=None`, which aiohttp reads as "no timeout at all" (not its 5-minute
    default). So the client's own `timeout` is applied here when a request brings none.
    A 429 is raised as `RateLimited` with its Retry-After, which the twilio package's
    exceptions do not keep.
    """

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        response = await super().request(
            method, url, params=params, data=data, headers=headers, auth=auth,
            timeout=self.timeout if timeout is None else timeout, allow_redirects=allow_redirects,
        )
        if response.status_code == 429:
            raise RateLimited(_error_code(response.text), retry_after_seconds(response.headers.get("Retry-After")))
        return response


def _error_code(text: str) -> int | None:
    try:
        code = json.loads(text).get("code")
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, int) else None


def _send_error(exc: Exception, what: str) -> SendError:
    """What a failed request to Twilio means for sending the message again."""
    if isinstance(exc, RateLimited):
        return SendError(f"Twilio answered 429 (code {exc.code}) {what}", permanent=False,
                         code=exc.code, status=429, retry_after=exc.retry_after)
    if isinstance(exc, (TwilioRestException, TwilioServiceException)):
        # Twilio answered: a 4xx created nothing. A 5xx may come from a proxy in front
        # of a Twilio that did create the message.
        server_side = exc.status >= 500
        return SendError(f"Twilio answered {exc.status} (code {exc.code}) {what}", permanent=not server_side,
                         code=exc.code, status=exc.status, unknown=server_side)
    # No connection was made: the request never left.
    never_sent = isinstance(exc, (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError))
    return SendError(f"no answer from Twilio ({type(exc).__name__}) {what}", permanent=False,
                     unknown=not never_sent)


TWILIO_ERRORS = (
    RateLimited, TwilioRestException, TwilioServiceException, aiohttp.ClientError, asyncio.TimeoutError, OSError,
)


class TwilioSender:
    """Sends through Twilio's Messages API from `whatsapp:<TWILIO_NUMBER>`, and reads its
    message log back.

    Must be built inside the running event loop: the async HTTP client opens its
    connection pool there.
    """

    def __init__(self, settings: Settings) -> None:
        if not (settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_number):
            raise ValueError("TwilioSender needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_NUMBER")
        self._http = DeadlineHttpClient(timeout=settings.send_timeout_seconds)
        self._client = Client(
            settings.twilio_account_sid, settings.twilio_auth_token, http_client=self._http
        )
        # The client builds every Messages URL from its `api` domain's base URL, so this
        # one assignment points it at a proxy or a test server.
        self._client.api.base_url = settings.twilio_api_url.rstrip("/")
        self._from = whatsapp_address(settings.twilio_number)
        public = (settings.public_url or "").rstrip("/")
        self._status_callback = f"{public}/status" if public else None

    async def send(self, to: str, text: str) -> str | None:
        try:
            message = await self._client.messages.create_async(
                to=whatsapp_address(to),
                from_=self._from,
                body=text,
                status_callback=self._status_callback,
            )
        except TWILIO_ERRORS as exc:
            raise _send_error(exc, f"sending to {mask_phone(to)}") from exc
        return message.sid

    async def sent_since(self, to: str, since: datetime) -> list[SentMessage]:
        """One page of the log filtered by `To` and `From`, kept from `since` on.

        Not filtered by `DateSent`: a message still in Twilio's queue has no `date_sent`
        yet, and a filter on it would hide exactly the message a send that timed out
        during a burst left behind. The creation time bounds the search instead.
        """
        try:
            messages = await self._client.messages.list_async(
                to=whatsapp_address(to), from_=self._from, limit=LOOKUP_PAGE_SIZE, page_size=LOOKUP_PAGE_SIZE
            )
        except TWILIO_ERRORS as exc:
            raise _send_error(exc, f"reading the message log for {mask_phone(to)}") from exc
        return [
            SentMessage(sid=message.sid, body=message.body or "", created_at=message.date_created)
            for message in messages
            if message.date_created is not None and message.date_created >= since
        ]

    async def close(self) -> None:
        await self._http.close()


class ConsoleSender:
    """Development stand-in: prints each reply instead of sending it (no Twilio account).

    The replies are still written to the outbox and marked sent, as with Twilio.
    """

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out or sys.stdout

    async def send(self, to: str, text: str) -> str | None:
        print(f"[reply to {mask_phone(to)}] {text}", file=self._out, flush=True)
        return None

    async def close(self) -> None:
        return None


def twilio_configured(settings: Settings) -> bool:
    return bool(settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_number)


def build_sender(settings: Settings) -> Sender:
    """Twilio when its credentials and number are set, else the console (call in the loop)."""
    if twilio_configured(settings):
        return TwilioSender(settings)
    return ConsoleSender()
