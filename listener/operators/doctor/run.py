"""All the checks, in the order an organiser reads them; the slow ones run side by side."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from pydantic import ValidationError

from listener.config import Settings
from listener.errors import describe_validation_error
from listener.operators.doctor.configuration import check_configuration
from listener.operators.doctor.deadline import reason
from listener.operators.doctor.findings import Finding
from listener.operators.doctor.flow_file import check_flow
from listener.operators.doctor.openai_models import check_openai
from listener.operators.doctor.public_url import check_public_url
from listener.operators.doctor.store import check_store
from listener.operators.doctor.twilio_account import check_twilio

DEFAULT_TIMEOUT_SECONDS = 10.0


def run_doctor(
    load_settings: Callable[[], Settings] = Settings,
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    event_id: str | None = None,
) -> list[Finding]:
    """Every finding, configuration first. `timeout` bounds each call to another service;
    the network checks run in parallel, so the whole run takes about as long as its
    slowest check."""
    try:
        settings = load_settings()
    except ValidationError as exc:
        return [
            Finding.blocker(
                "configuration",
                f"a setting is invalid: {describe_validation_error(exc)}",
                "fix that environment variable (or its line in .env); nothing else was checked",
            )
        ]
    checks: dict[str, Callable[[], list[Finding]]] = {
        "configuration": partial(check_configuration, settings),
        "flow": partial(check_flow, settings),
        "store": partial(check_store, settings, timeout, event_id),
        "twilio": partial(check_twilio, settings, timeout),
        "openai": partial(check_openai, settings, timeout),
        "app.public_url": partial(check_public_url, settings, timeout),
    }
    with ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="doctor") as pool:
        futures = {name: pool.submit(check) for name, check in checks.items()}
        findings: list[Finding] = []
        for name, future in futures.items():
            try:
                findings.extend(future.result())
            except Exception as exc:  # a bug in a check must not hide the other findings
                findings.append(
                    Finding.blocker(
                        name, f"the check itself failed: {reason(exc)}", "report this with the output above"
                    )
                )
    return findings
