"""Calls that many threads make at once, made as one request to the store.

Processing and sending call the store from many threads, one call per message: a read
of the participant, a commit, a send result. At a keynote those calls come in hundreds a
second, and each one is a round trip whose fixed cost (the client's encoding, gRPC, the
server's own work per request) is most of the price: counted on the Firestore emulator,
one request for 25 commits or reads costs a third of what 25 requests do, in the client
and in the server. So a call that finds the store busy waits for a free slot, and the
thread that takes the slot makes one request for every call waiting then (up to
`limit`). A call alone goes at once, as it would without this.

No thread of its own: the calling threads take turns making the requests (the first to
find a free slot makes one), so nothing here outlives its callers. Each request has the
store's deadline, so a waiting call waits at most for the requests before its own.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass(eq=False)
class _Call(Generic[Item]):
    item: Item
    done: bool = False
    result: object = None
    error: BaseException | None = None


class Coalesced(Generic[Item, Result]):
    """`call(item)` runs `run_many` on every item waiting, at most `slots` requests at
    once, each with items of total `weight` at most `limit` (one item at least).

    `run_many` answers each item in order: its result, or the exception its caller gets
    (an item's own failure, such as a precondition, fails that item only). An exception
    `run_many` raises is every item's.
    """

    def __init__(
        self,
        run_many: Callable[[Sequence[Item]], Sequence[Result | BaseException]],
        *,
        limit: int,
        slots: int = 2,
        weight: Callable[[Item], int] = lambda _: 1,
    ) -> None:
        self._run_many = run_many
        self.limit = limit
        self.slots = slots
        self._weight = weight
        self._waiting: deque[_Call[Item]] = deque()
        self._running = 0
        self._changed = threading.Condition()

    def __call__(self, item: Item) -> Result:
        call = _Call(item)
        with self._changed:
            self._waiting.append(call)
            while not call.done:
                if self._running < self.slots and self._waiting:
                    self._lead(self._take())
                else:
                    self._changed.wait()
        if call.error is not None:
            raise call.error
        return call.result  # type: ignore[return-value]

    def _take(self) -> list[_Call[Item]]:
        batch = [self._waiting.popleft()]
        total = self._weight(batch[0].item)
        while self._waiting and total + self._weight(self._waiting[0].item) <= self.limit:
            total += self._weight(self._waiting[0].item)
            batch.append(self._waiting.popleft())
        return batch

    def _lead(self, batch: list[_Call[Item]]) -> None:
        """Make one request for `batch` (the condition's lock released meanwhile)."""
        self._running += 1
        self._changed.release()
        try:
            answers: Sequence[object] = self._run_many([call.item for call in batch])
            if len(answers) != len(batch):
                raise RuntimeError(f"{len(answers)} answers for {len(batch)} calls")
        except BaseException as exc:  # every caller in the batch gets it, as if it were alone
            answers = [exc] * len(batch)
        finally:
            self._changed.acquire()
        self._running -= 1
        for call, answer in zip(batch, answers, strict=True):
            if isinstance(answer, BaseException):
                call.error = answer
            else:
                call.result = answer
            call.done = True
        self._changed.notify_all()
