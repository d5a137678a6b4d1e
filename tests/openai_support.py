"""Fixtures for the OpenAI tests: a fake OpenAI server per test and settings pointing at it.

Import the fixtures into a test module (`from openai_support import fake, settings_for`)
to use them. The product is built from `Settings` exactly as in production, so the SDK
talks HTTP to the fake through `OPENAI_BASE_URL`; nothing of the product or the SDK is
replaced.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_openai import FakeOpenAI

from listener.config import Settings


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def settings_for(fake: FakeOpenAI, **overrides: object) -> Settings:
    """Settings as an operator would write them, aimed at the fake (dummy key, short timeout)."""
    values: dict[str, object] = {
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_BASE_URL": fake.base_url,
        "OPENAI_MODEL": "test-chat-model",
        "OPENAI_TRANSCRIBE_MODEL": "test-transcribe-model",
        "OPENAI_TIMEOUT_SECONDS": 2.0,
        "OPENAI_MAX_RETRIES": 2,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)
