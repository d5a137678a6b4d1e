"""Calls started together on threads of their own, each one's answer kept."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

Key = TypeVar("Key", bound=Hashable)


def answers_at_once(call: Callable[[Key], object], keys: Iterable[Key], timeout: float = 30) -> dict[Key, object]:
    """`call(key)` for every key, each on its own thread, all released at one barrier; each
    key's result, or the exception its call raised."""
    keys = list(keys)
    start = threading.Barrier(len(keys))
    answers: dict[Key, object] = {}

    def run(key: Key) -> None:
        start.wait()
        try:
            answers[key] = call(key)
        except Exception as exc:
            answers[key] = exc

    threads = [threading.Thread(target=run, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return answers
