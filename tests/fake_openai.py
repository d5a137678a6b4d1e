"""A local OpenAI-compatible HTTP server for tests: the real SDK talks to it over HTTP.

It answers the two endpoints the product uses, `POST /v1/chat/completions` and
`POST /v1/audio/transcriptions`, in the shapes the API documents. What it answers is
scripted per test:

* `queue(*answers)`: the next requests get these answers, in order (a refusal, invalid
  JSON, a 429, a 500, a slow answer ...);
* `always(answer)`: every request gets this answer (a 500 forever, a sleep forever);
* `record(schema, text, content)`: replay a recorded structured answer for the request whose
  response format is `schema` and whose participant message is `text` (the golden table);
* `transcripts[sha256(audio)]`: the words of a known recording.

A request nothing answers gets a 404 and is listed in `misses`, so a test can assert that
every call it expected was scripted. Every request is kept in `requests` (JSON body, or
the multipart form's fields and file) for assertions about what the SDK sent.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Answer:
    """One scripted answer: a status, a body (JSON or raw), optional delay and headers."""

    status: int = 200
    content: str | None = None
    refusal: str | None = None
    finish_reason: str = "stop"
    delay: float = 0.0
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, value: Any, **kwargs: Any) -> Answer:
        """A structured answer: `value` serialised as the assistant's content."""
        return cls(content=json.dumps(value), **kwargs)

    @classmethod
    def text(cls, text: str, **kwargs: Any) -> Answer:
        return cls(content=text, **kwargs)

    @classmethod
    def refuse(cls, why: str = "I'm sorry, I can't help with that.") -> Answer:
        return cls(refusal=why)

    @classmethod
    def error(cls, status: int, message: str = "scripted error") -> Answer:
        # `retry-after-ms` keeps the SDK's backoff short in tests, the way the API's own
        # rate-limit answers tell clients how long to wait.
        kind = "rate_limit_exceeded" if status == 429 else "server_error"
        return cls(
            status=status,
            body={"error": {"message": message, "type": kind, "param": None, "code": kind}},
            headers={"retry-after-ms": "20"},
        )

    @classmethod
    def sleep(cls, seconds: float, then: Answer | None = None) -> Answer:
        answer = then or cls.json({})
        answer.delay = seconds
        return answer


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    json: dict[str, Any] | None = None
    form: dict[str, str] = field(default_factory=dict)
    file: tuple[str, str, bytes] | None = None  # (filename, content type, bytes)

    @property
    def schema_name(self) -> str | None:
        fmt = (self.json or {}).get("response_format") or {}
        return (fmt.get("json_schema") or {}).get("name")

    @property
    def participant_text(self) -> str | None:
        """The last user message: the participant's words, as the product sends them."""
        for message in reversed((self.json or {}).get("messages", [])):
            if message.get("role") == "user":
                return message.get("content")
        return None

    @property
    def system_text(self) -> str:
        return "\n".join(
            m.get("content", "") for m in (self.json or {}).get("messages", []) if m.get("role") in ("system", "developer")
        )


class _Server(ThreadingHTTPServer):
    # A burst opens hundreds of connections at once; the default backlog of 5 would make
    # the kernel drop them and the clients retry a second later.
    request_queue_size = 1024

    def handle_error(self, request, client_address) -> None:
        """A client that closed a kept-alive connection is expected here, not an error."""


class FakeOpenAI:
    """The server and its script. Use as a context manager, or `start()` / `stop()`."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.misses: list[Request] = []
        self.recordings: dict[tuple[str, str], str] = {}
        self.transcripts: dict[str, dict[str, Any]] = {}
        self._queue: deque[Answer] = deque()
        self._always: Answer | None = None
        self._responder: Callable[[Request], Answer] | None = None
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    # script ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def queue(self, *answers: Answer) -> None:
        with self._lock:
            self._queue.extend(answers)

    def always(self, answer: Answer | None) -> None:
        with self._lock:
            self._always = answer

    def respond_with(self, responder: Callable[[Request], Answer] | None) -> None:
        """Answer every chat request nothing queued or `always` answers with
        `responder(request)`: answers that depend on the request (a load test's model)."""
        with self._lock:
            self._responder = responder

    def record(self, schema: str, text: str, content: Any) -> None:
        self.recordings[(schema, text)] = content if isinstance(content, str) else json.dumps(content)

    def add_transcript(self, audio: bytes, text: str, language: str | None = None) -> None:
        self.transcripts[hashlib.sha256(audio).hexdigest()] = {"text": text, "language": language}

    def chat_requests(self, schema: str | None = None) -> list[Request]:
        return [
            r for r in self.requests
            if r.path.endswith("/chat/completions") and (schema is None or r.schema_name == schema)
        ]

    # lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # answering ---------------------------------------------------------------------------

    def _next_scripted(self) -> Answer | None:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            return self._always

    def _answer_chat(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        answer = self._next_scripted()
        if answer is None and self._responder is not None:
            answer = self._responder(request)
        if answer is None:
            recorded = self.recordings.get((request.schema_name or "", request.participant_text or ""))
            if recorded is None:
                self.misses.append(request)
                return _json(404, {"error": {"message": "nothing scripted or recorded", "type": "invalid_request_error"}})
            answer = Answer(content=recorded)
        if answer.delay:
            time.sleep(answer.delay)
        if answer.status != 200 or answer.body is not None:
            status, headers, body = _json(answer.status, answer.body)
            return status, {**headers, **answer.headers}, body
        model = (request.json or {}).get("model", "")
        return _json(200, _completion(model, answer))

    def _answer_transcription(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        answer = self._next_scripted()
        if answer is not None:
            if answer.delay:
                time.sleep(answer.delay)
            if answer.status != 200:
                status, headers, body = _json(answer.status, answer.body)
                return status, {**headers, **answer.headers}, body
        if request.file is None:
            return _json(400, {"error": {"message": "file is required", "type": "invalid_request_error"}})
        filename, _, audio = request.file
        # The API identifies the container by the file name's extension and its bytes;
        # this fake takes only what WhatsApp sends, Opus in Ogg.
        if not filename.lower().endswith(".ogg") or not audio.startswith(b"OggS") or b"OpusHead" not in audio[:512]:
            return _json(400, {"error": {"message": "Invalid file format.", "type": "invalid_request_error"}})
        known = self.transcripts.get(hashlib.sha256(audio).hexdigest())
        if known is None:
            self.misses.append(request)
            return _json(404, {"error": {"message": "unknown recording", "type": "invalid_request_error"}})
        body: dict[str, Any] = {"text": known["text"]}
        if request.form.get("response_format") == "verbose_json":
            body.update(task="transcribe", language=known["language"] or "english", duration=1.0)
        elif known["language"]:
            body["languages"] = [{"code": known["language"]}]
        return _json(200, body)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart

            def log_message(self, *args: object) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                request = Request(path=self.path, headers={k.lower(): v for k, v in self.headers.items()})
                content_type = self.headers.get("content-type", "")
                if content_type.startswith("multipart/form-data"):
                    request.form, request.file = _parse_multipart(content_type, raw)
                elif raw:
                    request.json = json.loads(raw)
                fake.requests.append(request)
                if self.path.endswith("/chat/completions"):
                    status, headers, body = fake._answer_chat(request)
                elif self.path.endswith("/audio/transcriptions"):
                    status, headers, body = fake._answer_transcription(request)
                else:
                    status, headers, body = _json(404, {"error": {"message": f"no route {self.path}"}})
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("content-length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    # The client gave up (its timeout): nothing to answer to.
                    return

        return Handler


def _json(status: int, value: Any) -> tuple[int, dict[str, str], bytes]:
    return status, {"content-type": "application/json"}, json.dumps(value).encode()


def _completion(model: str, answer: Answer) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "finish_reason": answer.finish_reason,
                "logprobs": None,
                "message": {"role": "assistant", "content": answer.content, "refusal": answer.refusal},
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def _parse_multipart(content_type: str, raw: bytes) -> tuple[dict[str, str], tuple[str, str, bytes] | None]:
    message = BytesParser(policy=HTTP).parsebytes(b"content-type: " + content_type.encode() + b"\r\n\r\n" + raw)
    form: dict[str, str] = {}
    upload = None
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True) or b""
        if filename is not None:
            upload = (filename, part.get_content_type(), payload)
        elif name:
            form[name] = payload.decode()
    return form, upload
