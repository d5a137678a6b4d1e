"""A deadline for calls that take none of their own (the store's methods).

The call runs in a daemon thread; when the deadline passes the doctor reports it and moves
on, and the abandoned call ends with the process. That is acceptable for a command that
exits after one report, and for nothing that serves requests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class DeadlineExceeded(Exception):
    """The call did not return within its deadline."""


def within(seconds: float, call: Callable[[], T]) -> T:
    """`call()`'s result or exception, or `DeadlineExceeded` after `seconds`."""
    outcome: dict[str, object] = {}
    done = threading.Event()

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed to the caller, whatever it is
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name="doctor-call", daemon=True).start()
    if not done.wait(seconds):
        raise DeadlineExceeded(f"no answer within {seconds:g} s")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def reason(exc: BaseException) -> str:
    """One line for a failure a check caught: the library's message, else its type."""
    if isinstance(exc, DeadlineExceeded):
        return str(exc)
    message = getattr(exc, "message", None) or str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
