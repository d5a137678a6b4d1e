"""A webhook load generator's client: signed Twilio forms over raw asyncio streams.

httpx and similar clients may write a request's headers and body in two writes; with
Nagle's algorithm on one side and delayed ACKs on the other, that costs about 40 ms per
request on loopback and would be measured as the app's latency. This client writes each
request in one `write()` on a TCP_NODELAY socket, keeps connections alive, and reads the
response by Content-Length, so what it times is the app.
"""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from webhook_support import signature


@dataclass(frozen=True)
class Answer:
    status: int
    seconds: float
    body: bytes


class ConnectionLost(Exception):
    """The server closed or reset the connection before answering (it may be down)."""


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def close(self) -> None:
        self.writer.close()


class WebhookClient:
    """Up to `connections` keep-alive connections to one server on 127.0.0.1."""

    def __init__(self, port: int, connections: int = 32, timeout: float = 10.0) -> None:
        self.port = port
        self.timeout = timeout
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(connections)

    async def _open(self) -> _Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return _Connection(reader, writer)

    async def post_form(self, path: str, form: dict[str, str], *, signed: bool = True) -> Answer:
        """POST `form` as Twilio would (signed for the tests' PUBLIC_URL + path).

        Raises `ConnectionLost` when the server is unreachable or drops the connection.
        """
        body = urlencode(form).encode()
        head = [
            f"POST {path} HTTP/1.1",
            f"Host: 127.0.0.1:{self.port}",
            "Content-Type: application/x-www-form-urlencoded",
            f"Content-Length: {len(body)}",
        ]
        if signed:
            head.append(f"X-Twilio-Signature: {signature(path, form)}")
        request = ("\r\n".join(head) + "\r\n\r\n").encode() + body
        async with self._slots:
            started = time.perf_counter()
            connection = self._idle.pop() if self._idle else None
            if connection is not None:
                try:
                    return self._answered(connection, *(await self._exchange(connection, request)), started)
                except (OSError, asyncio.IncompleteReadError):
                    # The server closed this idle connection (its keep-alive timeout) as the
                    # request went out: send it again on a new one, as HTTP clients do.
                    connection.close()
                    started = time.perf_counter()
                except (asyncio.TimeoutError, ValueError) as exc:
                    connection.close()
                    raise ConnectionLost(f"{type(exc).__name__}: {exc}") from None
            connection = None
            try:
                connection = await self._open()
                return self._answered(connection, *(await self._exchange(connection, request)), started)
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as exc:
                if connection is not None:
                    connection.close()
                raise ConnectionLost(f"{type(exc).__name__}: {exc}") from None

    async def _exchange(self, connection: _Connection, request: bytes) -> tuple[int, bytes, bool]:
        connection.writer.write(request)
        return await asyncio.wait_for(_read_response(connection.reader), self.timeout)

    def _answered(self, connection: _Connection, status: int, payload: bytes, keep: bool, started: float) -> Answer:
        if keep:
            self._idle.append(connection)
        else:
            connection.close()
        return Answer(status, time.perf_counter() - started, payload)

    async def close(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body and whether the connection may be reused."""
    status_line = await reader.readuntil(b"\r\n")
    status = int(status_line.split(b" ", 2)[1])
    length = 0
    keep = True
    while True:
        line = await reader.readuntil(b"\r\n")
        if line == b"\r\n":
            break
        name, _, value = line.decode("latin-1").partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "connection" and value.strip().lower() == "close":
            keep = False
    payload = await reader.readexactly(length) if length else b""
    return status, payload, keep
