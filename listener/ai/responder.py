"""`Responder` on an OpenAI model: a one- or two-sentence acknowledgement in the event's voice.

The reply is written from the event's name, location and background, in the language of
the participant's message, then cut by `enforce_brevity` whatever the model wrote. The
graph's template reply is sent instead when the event asks for templates, and whenever
the model refuses, answers nothing, is slow or is down: a participant always hears back
and the engine never waits longer than the client's timeout and retries.
"""

from __future__ import annotations

import logging

import openai

from listener import metrics
from listener.ai import prompts
from listener.ai.cache import AnswerCache
from listener.conversation.responding import (
    AckRequest,
    TemplateResponder,
    enforce_brevity,
)

log = logging.getLogger(__name__)

REPLY_TOKENS = 200


class OpenAIResponder:
    def __init__(
        self,
        client: openai.OpenAI,
        model: str,
        fallback: TemplateResponder | None = None,
        cache: AnswerCache[str] | None = None,
    ) -> None:
        self.client = client
        self.model = model
        self.fallback = fallback or TemplateResponder()
        self.cache: AnswerCache[str] = cache or AnswerCache()

    def acknowledge(self, request: AckRequest) -> str | None:
        if request.event.responses == "silent":
            return None
        if request.event.responses != "llm":
            return self.fallback.acknowledge(request)
        # A run of the same message again (after a store conflict) reuses the reply.
        key = request.model_dump_json()
        reply = self.cache.get(key)
        if reply is None:
            reply = self._write(request)
            if reply is None:
                return self.fallback.acknowledge(request)
            self.cache.put(key, reply)
        return reply

    def _write(self, request: AckRequest) -> str | None:
        try:
            with metrics.MODEL_LATENCY.time():
                completion = self.client.chat.completions.create(
                    model=self.model,
                    messages=[
                        {"role": "system", "content": prompts.acknowledge(request.event, request.name)},
                        {"role": "user", "content": request.text},
                    ],
                    max_completion_tokens=REPLY_TOKENS,
                    store=False,
                )
        except openai.OpenAIError as exc:
            log.warning("acknowledgement failed (%s); sending the template", type(exc).__name__)
            return None
        message = completion.choices[0].message
        if message.refusal or not (message.content or "").strip():
            log.warning("acknowledgement refused or empty; sending the template")
            return None
        return enforce_brevity(message.content) or None
