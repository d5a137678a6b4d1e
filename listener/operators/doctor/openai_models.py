"""OpenAI: does the key work, do the configured models exist, and does the reply model
take structured outputs?

The models API says whether a model exists for this key (`models.retrieve`) but not what
it can do, so the structured-output check asks the model once, the way the extractor does
(`chat.completions.parse` into a pydantic model): one tiny request of a few tokens.
Uses the official SDK pointed at `OPENAI_BASE_URL`, with a timeout and no retries.
"""

from __future__ import annotations

import openai
from pydantic import BaseModel

from listener.config import Settings
from listener.operators.doctor.deadline import reason, within
from listener.operators.doctor.findings import Finding, Verdict

KEY_ADVICE = "create a key at https://platform.openai.com/api-keys and set OPENAI_API_KEY to it, or unset it to run on the offline rules"


class DoctorProbe(BaseModel):
    """The structured answer the probe asks for."""

    ready: bool


def check_openai(settings: Settings, timeout: float) -> list[Finding]:
    if not settings.openai_api_key:
        return [
            Finding.skipped(
                "openai",
                "OPENAI_API_KEY is not set: the offline rules read answers, templates reply, voice notes are kept untranscribed",
            )
        ]
    client = openai.OpenAI(
        api_key=settings.openai_api_key, base_url=settings.openai_base_url, timeout=timeout, max_retries=0
    )
    try:
        model = _model(client, settings.openai_model, timeout, "OPENAI_MODEL", "openai.model", blocking=True)
        if model.verdict != Verdict.OK:
            return [model]
        findings = [model, _structured_outputs(client, settings.openai_model, timeout)]
        findings.append(
            _model(
                client,
                settings.openai_transcribe_model,
                timeout,
                "OPENAI_TRANSCRIBE_MODEL",
                "openai.transcribe_model",
                blocking=False,
            )
        )
        return findings
    finally:
        client.close()


def _model(client: openai.OpenAI, name: str, timeout: float, setting: str, check: str, *, blocking: bool) -> Finding:
    try:
        within(timeout + 1, lambda: client.models.retrieve(name))
    except openai.AuthenticationError:
        return Finding.blocker("openai.key", "OpenAI refused OPENAI_API_KEY (401)", KEY_ADVICE)
    except openai.PermissionDeniedError as exc:
        return Finding.blocker("openai.key", f"OpenAI refused this key access (403): {exc.message}", KEY_ADVICE)
    except openai.NotFoundError:
        found = f"{setting} {name!r} does not exist, or this key cannot use it"
        action = f"set {setting} to a model your key lists (`GET /v1/models`)"
        if blocking:
            return Finding.blocker(check, found, action)
        return Finding.warning(check, f"{found}: voice notes will be kept untranscribed", action)
    except Exception as exc:
        return Finding.blocker(
            "openai.key",
            f"could not reach OpenAI at {client.base_url}: {reason(exc)}",
            "check this machine's internet access, and OPENAI_BASE_URL if you set it",
        )
    return Finding.ok(check, f"the key works and can use {setting} {name}")


def _structured_outputs(client: openai.OpenAI, name: str, timeout: float) -> Finding:
    check = "openai.structured_outputs"
    try:
        completion = within(
            timeout + 1,
            lambda: client.chat.completions.parse(
                model=name,
                messages=[{"role": "user", "content": "Are you ready? Answer with ready=true."}],
                response_format=DoctorProbe,
                store=False,
            ),
        )
    except openai.BadRequestError as exc:
        return Finding.blocker(
            check,
            f"{name} refused a structured-output request (400): {exc.message}",
            "set OPENAI_MODEL to a model with structured outputs (such as gpt-4o-mini)",
        )
    except Exception as exc:
        return Finding.warning(
            check,
            f"the structured-output request to {name} failed: {reason(exc)}",
            "run the doctor again; if it persists, answers are read by the offline rules",
        )
    message = completion.choices[0].message
    if message.parsed is None:
        return Finding.warning(
            check,
            f"{name} answered the structured-output request without an answer (refusal: {message.refusal!r})",
            "try another model",
        )
    return Finding.ok(check, f"{name} answers in the extractor's structured format")
