"""The OpenAI SDK's HTTP client logs every call at INFO (`HTTP Request: POST .../chat/
completions "HTTP/1.1 200 OK"`) under the name of the httpx fork it is built on (`httpx2`
in openai 3.x, on its aiohttp transport too): none of those lines reach the app's log,
and their warnings still do."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
from fake_openai import Answer, FakeOpenAI, Request
from reliability_support import ServerProcess, free_port, server_env
from webhook_support import db_path, fake_twilio, message_form, signature, wait_for  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
VOICE_NOTE_PATH = Path(__file__).parent / "fixtures" / "audio" / "voice-note.ogg"
VOICE_NOTE = VOICE_NOTE_PATH.read_bytes()
PARTICIPANT = "+15550008181"
TRANSPORTS = ("httpx", "httpcore", "aiohttp")  # and the forks httpx2, httpcore2


def _model(request: Request) -> Answer:
    if request.schema_name == "NameAnswer":
        return Answer.json({"status": "found", "name": "Ines"})
    if request.schema_name:
        return Answer.json({"status": "not_found", "age": None, "gender": None, "region": None,
                            "pick": None, "yes": None, "name": None})
    return Answer.text("Thank you, that is noted.")


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def test_the_running_app_logs_no_line_per_model_call(db_path, fake_twilio, tmp_path):
    """The probe's path: `uvicorn app:app` with a model, a voice note (transcription) and a
    name (extraction and acknowledgement)."""
    log_path = tmp_path / "server.log"
    with FakeOpenAI() as model:
        model.add_transcript(VOICE_NOTE, "hi, I'm at CLIMATE24", language="en")
        model.respond_with(_model)
        env = server_env(db_path, fake_twilio, model.base_url, LOG_LEVEL="INFO", LOG_FORMAT="json")
        server = ServerProcess(env, free_port(), log_path).start()
        try:
            note = message_form("SM" + "e1" * 16, PARTICIPANT, "",
                                media=[(fake_twilio.add_media(VOICE_NOTE, "audio/ogg"), "audio/ogg")])
            name = message_form("SM" + "e2" * 16, PARTICIPANT, "Ines")
            for replies, form in enumerate((note, name), start=1):
                answer = httpx.post(f"http://127.0.0.1:{server.port}/message", data=form, timeout=10, trust_env=False,
                                    headers={"X-Twilio-Signature": signature("/message", form)})
                assert answer.status_code == 200
                wait_for(lambda replies=replies: len(fake_twilio.sent_to(PARTICIPANT)) >= replies,
                         timeout=30, what="the message's reply")
        finally:
            server.stop()
        calls = [request.path for request in model.requests]
    assert any(path.endswith("/audio/transcriptions") for path in calls), calls
    assert any(path.endswith("/chat/completions") for path in calls), calls
    lines = _lines(log_path)
    assert lines, log_path.read_text()[-2000:]
    transport = [line for line in lines if line["logger"].split(".")[0].startswith(TRANSPORTS)]
    assert transport == []
    assert not any("HTTP Request:" in line["message"] for line in lines)


SNIPPET = """
import asyncio, logging, pathlib, sys
from listener.ai.client import async_client
from listener.config import Settings
from listener.logs import configure_logging

configure_logging("json", "INFO")
base, audio = sys.argv[1], pathlib.Path(sys.argv[2]).read_bytes()
settings = Settings(_env_file=None, OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=base, OPENAI_MAX_RETRIES=0)

async def calls():
    async with async_client(settings) as client:
        await client.chat.completions.create(model="test-chat-model", messages=[{"role": "user", "content": "hi"}])
        await client.audio.transcriptions.create(model="test-transcribe-model", file=("note.ogg", audio, "audio/ogg"))
        # the package of the HTTP client class the SDK's client is built on (httpx2 in openai 3.x)
        return next(k.__module__ for k in type(client._client).__mro__ if k.__module__.startswith("httpx"))

transport = asyncio.run(calls()).split(".")[0]
logging.getLogger(transport).warning("a %s warning is kept", transport)
logging.getLogger("listener.test").info("done")
"""


def test_a_real_sdk_call_logs_only_the_transport_warnings():
    """The product's own client (`listener.ai.client`, the SDK on its aiohttp transport)
    against the fake: the transport's INFO lines are dropped under whatever name the
    installed SDK's client logs, its warnings kept."""
    with FakeOpenAI() as model:
        model.add_transcript(VOICE_NOTE, "hello")
        model.queue(Answer.text("hello"))
        done = subprocess.run([sys.executable, "-c", SNIPPET, model.base_url, str(VOICE_NOTE_PATH)], cwd=ROOT,
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        assert len(model.requests) == 2
    lines = _lines_of(done.stdout)
    loggers = [line["logger"] for line in lines]
    assert "listener.test" in loggers, done.stdout
    transport = [line for line in lines if line["logger"].split(".")[0].startswith(TRANSPORTS)]
    assert [(line["level"], line["message"]) for line in transport] == [
        ("warning", f"a {transport[0]['logger']} warning is kept")]
    assert "HTTP Request" not in done.stdout + done.stderr


def _lines_of(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]

