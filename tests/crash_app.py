"""The real app with the HTTP transcriber, for the crash test to run in a child process
(`uvicorn crash_app:app --app-dir tests`) and kill while a voice note is in flight."""

from __future__ import annotations

import os

from fake_transcription import HttpTranscriber

from listener.channel.app import create_app

app = create_app(transcriber=HttpTranscriber(os.environ["TEST_TRANSCRIPTION_URL"]))
