"""A local transcription service and the `Transcriber` that calls it over HTTP.

The tests inject `HttpTranscriber` through `create_app(transcriber=...)`, the seam the
app offers for it; the behaviour under test (a transcript, an outage, a hang) comes from
the local server, as it would from OpenAI.
"""

from __future__ import annotations

import json
import threading

import httpx
from local_server import LocalServer, QuietHandler

from listener.ai.transcription import Transcript, TranscriptionUnavailable


class FakeTranscription:
    def __init__(self, text: str = "", hang: bool = False) -> None:
        self.text = text
        self.received: list[dict] = []
        self.gate = threading.Event()
        if not hang:
            self.gate.set()
        self.server = LocalServer(_Handler, owner=self)
        self.url = self.server.url

    def start(self) -> FakeTranscription:
        self.server.start()
        return self

    def release(self) -> None:
        self.gate.set()

    def stop(self) -> None:
        self.gate.set()
        self.server.stop()


class _Handler(QuietHandler):
    def do_POST(self) -> None:
        fake: FakeTranscription = self.server.owner
        audio = self.read_body()
        fake.received.append({"bytes": len(audio), "content_type": self.headers.get("Content-Type"),
                              "filename": self.headers.get("X-Filename")})
        fake.gate.wait(timeout=30)
        if not fake.text:
            self.answer(503, b'{"error": "unavailable"}')
            return
        self.answer(200, json.dumps({"text": fake.text, "model": "fake-transcribe", "language": "en"}).encode())


class HttpTranscriber:
    """A `Transcriber` that posts the audio to `url` and reads `{"text": ...}` back."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def transcribe(self, audio: bytes, content_type: str, filename: str) -> Transcript:
        async with httpx.AsyncClient(timeout=None, trust_env=False) as client:
            response = await client.post(
                self.url, content=audio, headers={"Content-Type": content_type, "X-Filename": filename}
            )
        if response.status_code != 200:
            raise TranscriptionUnavailable(f"transcription service answered {response.status_code}")
        return Transcript.model_validate(response.json())
