"""A small thread-safe memo of model answers, bounded in size and age.

When another worker commits for the same participant first, the engine runs the same
message again from a fresh snapshot; the guards ask the same questions about the same
words, and this memo answers them without paying for the model twice. Keys are what was
asked (the kind of question, the words, the options), so a repeat is free however it
comes about; entries expire so a long-running worker does not hold participants' words.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class AnswerCache(Generic[T]):
    def __init__(self, size: int = 4096, ttl: float = 900.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.size = size
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._items: OrderedDict[Hashable, tuple[float, T]] = OrderedDict()

    def get(self, key: Hashable) -> T | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if self.clock() - item[0] >= self.ttl:
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return item[1]

    def put(self, key: Hashable, value: T) -> None:
        with self._lock:
            self._items[key] = (self.clock(), value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

