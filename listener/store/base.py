"""The `Store`: every port on one database, and the errors every store method raises.

Two implementations keep it: SQLite (the embedded default) and Firestore (production).
Both pass one contract suite (`tests/test_store_contract.py`). The methods are
synchronous: the engine runs one participant's message in a worker thread, so a slow
store never blocks the webhook's event loop.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from listener.store.ports import Conversations, Events, Inbox, Outbox, Privacy, Records


class VersionConflict(Exception):
    """Another worker committed for this participant first: reload and run again."""


class StoreError(Exception):
    """Storage trouble: the store could not be opened, did not answer, or refused the call.

    Every store method raises this (or `StoreUnavailable`) instead of its driver's own
    errors, so a caller can tell trouble with the store from a flaw in what it was given:
    the message being handled is not at fault, and the same call may be tried again later.
    """


class StoreUnavailable(StoreError):
    """Transient storage trouble: the store is locked, busy, full, unreachable or past its
    deadline (`STORE_TIMEOUT_SECONDS`). Trying again later is expected to work."""


@runtime_checkable
class Store(Inbox, Conversations, Outbox, Events, Records, Privacy, Protocol):
    """One deployment's store: every port (`listener.store.ports`) on one database.

    The worker, the CLI and the doctor hold the whole store; each part they hand it to is
    typed to the port it uses.
    """

    def ping(self) -> None:
        """Raise `StoreError` when the store cannot take a write: one tiny write, for
        health checks (a store that answers reads but not writes loses deliveries)."""

    def close(self) -> None: ...
