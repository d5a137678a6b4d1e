"""One writer at a time in this process, with the webhook's writes first.

SQLite takes one writer at a time, so a process's writers queue for it. Two kinds queue:
the webhook's inbox records (a participant's delivery, which Twilio is waiting on) and
everything after it (engine commits, send results, recovery). Under a keynote's burst the
second kind outnumbers the first, and a lock that does not choose (Python's locks wake
whichever thread the scheduler likes) can leave a webhook waiting seconds behind
processing work that nobody is waiting on. Here a waiting urgent writer goes next; the
others wait until no urgent writer is waiting. Re-entrant, like the `RLock` it replaces:
a thread that holds it may take it again.
"""

from __future__ import annotations

import threading


class WriteLock:
    """A re-entrant lock whose `urgent` waiters are served before the others."""

    def __init__(self) -> None:
        self._condition = threading.Condition(threading.Lock())
        self._owner: int | None = None
        self._depth = 0
        self._urgent_waiting = 0

    def acquire(self, timeout: float, urgent: bool = False) -> bool:
        """Take the lock within `timeout` seconds; False when it could not be had."""
        me = threading.get_ident()
        with self._condition:
            if self._owner == me:
                self._depth += 1
                return True
            if urgent:
                self._urgent_waiting += 1
            try:
                taken = self._condition.wait_for(
                    lambda: self._owner is None and (urgent or self._urgent_waiting == 0), timeout
                )
            finally:
                if urgent:
                    self._urgent_waiting -= 1
                    if self._urgent_waiting == 0:
                        self._condition.notify_all()
            if not taken:
                return False
            self._owner = me
            self._depth = 1
            return True

    def release(self) -> None:
        with self._condition:
            if self._owner != threading.get_ident():
                raise RuntimeError("the write lock is released by a thread that does not hold it")
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                self._condition.notify_all()
