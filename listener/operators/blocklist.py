"""The webhook's view of blocked numbers: read through a short-lived cache.

Checking the store on every message would add a read to each one; the blocklist is small,
so each process reads all of it at most once every `ttl` seconds, and a `listener block`
reaches every web process within that time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from listener.operators.privacy import KEY_SECRET_NAME, participant_key
from listener.store.ports import Privacy


class Blocklist:
    """`blocked(number)`: is this number's key on the store's blocklist (cached)?"""

    def __init__(self, privacy: Privacy, ttl: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.privacy = privacy
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._secret: str | None = None
        self._keys: frozenset[str] = frozenset()
        self._read_at: float | None = None

    def known(self, number: str) -> bool | None:
        """`blocked(number)` from the cache, without I/O and without waiting (for the event
        loop): None when the cache must be read again first, or another thread holds it."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            if self._secret is None or self._read_at is None or self.clock() - self._read_at >= self.ttl:
                return None
            return participant_key(self._secret, number) in self._keys
        finally:
            self._lock.release()

    def blocked(self, number: str) -> bool:
        """Blocking I/O (at most one store read per `ttl`): call it from a worker thread."""
        with self._lock:
            now = self.clock()
            if self._secret is None:
                self._secret = self.privacy.secret(KEY_SECRET_NAME)
            if self._read_at is None or now - self._read_at >= self.ttl:
                self._keys = frozenset(entry.key for entry in self.privacy.list_blocks())
                self._read_at = now
            return participant_key(self._secret, number) in self._keys
