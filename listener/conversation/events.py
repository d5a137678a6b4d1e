"""Event configuration read through a short-lived cache.

Every message needs its event's configuration; reading it from the store each time would
double the cost of a listening message. Entries live `ttl` seconds, so an edited or
deleted event is seen within that time on every worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from listener.models import EventConfig
from listener.store.base import Store


class EventDirectory:
    """Case-insensitive event lookup with a time-to-live cache (0 disables caching)."""

    def __init__(
        self, store: Store, ttl: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.store = store
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._events: dict[str, tuple[float, EventConfig | None]] = {}
        self._all: tuple[float, list[EventConfig]] | None = None

    def get(self, event_id: str) -> EventConfig | None:
        key = event_id.casefold()
        now = self.clock()
        with self._lock:
            cached = self._events.get(key)
            if cached and now - cached[0] < self.ttl:
                return cached[1]
        event = self.store.get_event(event_id)
        with self._lock:
            self._events[key] = (now, event)
        return event

    def cached(self, event_id: str) -> tuple[bool, EventConfig | None]:
        """(True, the event) when a fresh entry is cached, else (False, None): callers on
        an event loop read the store on a thread only then."""
        with self._lock:
            cached = self._events.get(event_id.casefold())
            if cached and self.clock() - cached[0] < self.ttl:
                return True, cached[1]
        return False, None

    def all(self) -> list[EventConfig]:
        """Every event (for matching IDs a participant types)."""
        now = self.clock()
        with self._lock:
            if self._all and now - self._all[0] < self.ttl:
                return self._all[1]
        events = self.store.list_events()
        with self._lock:
            self._all = (now, events)
            for event in events:
                self._events[event.event_id.casefold()] = (now, event)
        return events

    def ids(self) -> list[str]:
        return [event.event_id for event in self.all()]
