"""OpenAI clients configured from `Settings`: key, base URL, per-call timeout, retries.

The SDK retries 408/409/429/5xx and timeouts itself, with exponential backoff that honours
the API's `retry-after` headers; `OPENAI_MAX_RETRIES` bounds it, so the worst case a
message waits before its fallback is about (retries + 1) x `OPENAI_TIMEOUT_SECONDS`.
"""

from __future__ import annotations

import openai

from listener.config import Settings


def _options(settings: Settings) -> dict:
    if not settings.openai_api_key:
        raise ValueError("OPENAI_API_KEY is not set")
    return {
        "api_key": settings.openai_api_key,
        # None lets the SDK read OPENAI_BASE_URL itself, else use the public API.
        "base_url": settings.openai_base_url,
        "timeout": settings.openai_timeout_seconds,
        "max_retries": settings.openai_max_retries,
    }


def async_client(settings: Settings) -> openai.AsyncOpenAI:
    """Every model call (reading answers, composing replies, transcribing) is awaited on
    the worker's event loop, never on the engine's threads.

    The SDK's aiohttp transport (the `openai[aiohttp]` extra) costs about half the CPU per
    call of its default one, whose connection pool is scanned for every request: at a
    keynote's hundreds of calls in flight, that was the server's busiest work.
    """
    return openai.AsyncOpenAI(**_options(settings), http_client=openai.DefaultAioHttpClient())
