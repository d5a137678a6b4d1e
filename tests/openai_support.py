"""Fixtures for the OpenAI tests: a fake OpenAI server per test and settings pointing at it.

Import the fixtures into a test module (`from openai_support import fake, settings_for`)
to use them. The product is built from `Settings` exactly as in production, so the SDK
talks HTTP to the fake through `OPENAI_BASE_URL`; nothing of the product or the SDK is
replaced.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from fake_openai import FakeOpenAI

from listener.config import Settings
from listener.models import EventConfig
from listener.runtime import Runtime, build_runtime
from listener.store.sqlite import SQLiteStore


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server
        while _OPEN:
            _OPEN.pop().close()


_OPEN: list[Blocking] = []
"""Wrappers made in the running test, closed with its fake server (their connections)."""


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


class Blocking:
    """An async object's methods called as plain functions, each awaited on one event loop
    that lives as long as the wrapper (the async OpenAI client keeps its connections on it)."""

    def __init__(self, target: object, runtime: Runtime | None = None) -> None:
        self._target = target
        self._runtime = runtime
        self._runner = asyncio.Runner()
        _OPEN.append(self)

    def __getattr__(self, name: str):
        method = getattr(self._target, name)
        return lambda *args, **kwargs: self._runner.run(method(*args, **kwargs))

    def close(self) -> None:
        if self in _OPEN:
            _OPEN.remove(self)
        if self._runtime is not None:
            self._runner.run(self._runtime.close_model())
            self._runtime = None
        self._runner.close()


def reader_for(fake: FakeOpenAI, **overrides: object) -> Blocking:
    """The OpenAI reader the runtime builds from these settings, its methods blocking."""
    runtime = build_runtime(settings_for(fake, **overrides), store=SQLiteStore(":memory:"))
    return Blocking(runtime.reader, runtime)


def composer_for(fake: FakeOpenAI, events: list[EventConfig], **overrides: object) -> Blocking:
    """The OpenAI composer the runtime builds from these settings, over a store holding
    `events`, its methods blocking."""
    store = SQLiteStore(":memory:")
    for event in events:
        store.put_event(event)
    runtime = build_runtime(settings_for(fake, **overrides), store=store)
    return Blocking(runtime.composer, runtime)
