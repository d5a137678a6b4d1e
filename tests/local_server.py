"""A threaded HTTP server on 127.0.0.1 for the fakes the tests start (no mocks)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # a burst's connections, not dropped by a backlog of 5

    def handle_error(self, request, client_address) -> None:
        """A client that gave up on a held-back answer is expected here, not an error."""


class LocalServer:
    """Serves `handler_class` on a free loopback port until `stop()`; handlers reach the
    fake that owns the server as `self.server.owner`."""

    def __init__(self, handler_class: type[BaseHTTPRequestHandler], owner: object) -> None:
        self.httpd = _Server(("127.0.0.1", 0), handler_class)
        self.httpd.owner = owner
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def start(self) -> LocalServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        return

    def read_body(self) -> bytes:
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def answer(self, status: int, body: bytes = b"", content_type: str = "application/json", headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(body)
