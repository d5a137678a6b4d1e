"""Heroku's router in miniature, for `.ci/run`: https in front of the web process.

On Heroku, Twilio (and `listener doctor` on a one-off dyno) reach the app at an https
address; the router ends TLS and forwards plain http to the dyno's $PORT with
X-Forwarded-Proto and X-Forwarded-For. Production refuses a plain-http PUBLIC_URL, so CI
needs the same arrangement: this listens with a certificate made for the run and forwards
each request to the web process.

Usage: router.py CERT KEY UPSTREAM_PORT. Prints the port it listens on, then serves until
SIGTERM.
"""

from __future__ import annotations

import http.client
import signal
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "te", "trailer"}


def handler_for(upstream_port: int) -> type[BaseHTTPRequestHandler]:
    class Forward(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            headers["X-Forwarded-Proto"] = "https"
            headers["X-Forwarded-For"] = self.client_address[0]
            upstream = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=30)
            try:
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                payload = response.read()
            except OSError as exc:
                self.send_error(502, f"the web process did not answer: {exc}")
                return
            finally:
                upstream.close()
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in HOP_BY_HOP | {"content-length"}:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_HEAD = _forward

    return Forward


def main() -> None:
    cert, key, upstream_port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(upstream_port))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
