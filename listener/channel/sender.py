"""Senders: how one reply text reaches a participant's WhatsApp.

`TwilioSender` uses the official `twilio` client (its asynchronous HTTP client, so the
event loop never waits on a socket) pointed at `TWILIO_API_URL`. `ConsoleSender` prints
replies so `listener serve` works on a fresh machine without a Twilio account. Retrying,
splitting long texts and recording what happened is `listener.processing.delivery`'s job.
"""

from __future__ import annotations

import asyncio
import re
import sys
from typing import Protocol, TextIO

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from listener.config import Settings
from listener.masking import mask_phone

MAX_MESSAGE_CHARS = 1600
SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*\s+")
WHITESPACE = re.compile(r"\s+")
WHATSAPP_PREFIX = "whatsapp:"


class SendError(Exception):
    """A send that did not go through. `permanent` ones (bad number, outside the 24-hour
    window: 63016) will fail the same way again; the others (429, 5xx, network) may not."""

    def __init__(self, message: str, *, permanent: bool, code: int | None = None, status: int | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.code = code
        self.status = status


class Sender(Protocol):
    async def send(self, to: str, text: str) -> str | None:
        """Send one text of at most 1,600 characters to `to` (`+15550001111`); the
        provider's message SID, or None when the sender has none."""

    async def close(self) -> None: ...


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


class TwilioSender:
    """Sends through Twilio's Messages API from `whatsapp:<TWILIO_NUMBER>`.

    Must be built inside the running event loop: the async HTTP client opens its
    connection pool there.
    """

    def __init__(self, settings: Settings) -> None:
        if not (settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_number):
            raise ValueError("TwilioSender needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_NUMBER")
        self._http = AsyncTwilioHttpClient(timeout=settings.send_timeout_seconds)
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
        except TwilioRestException as exc:
            transient = exc.status == 429 or exc.status >= 500
            raise SendError(
                f"Twilio answered {exc.status} (code {exc.code}) sending to {mask_phone(to)}",
                permanent=not transient,
                code=exc.code,
                status=exc.status,
            ) from exc
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise SendError(
                f"could not reach Twilio ({type(exc).__name__})", permanent=False
            ) from exc
        return message.sid

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
