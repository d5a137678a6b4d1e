"""The store: can this process open it, read it, write it, and run the queries that need
indexes?

Reads and writes go through the `Store` contract, so SQLite and Firestore are checked the
same way; the store's methods take no timeout of their own, so each runs under a deadline.
On Firestore the query check is the index check: every query of the store's table
(`listener.store.firestore_queries`) runs once, matching nothing, and a real project
refuses one whose index is missing (FAILED_PRECONDITION); the emulator needs no indexes
and says nothing. SQLite makes its own indexes.
"""

from __future__ import annotations

from functools import partial
from urllib.parse import urlsplit

from google.api_core import exceptions as google_errors

from listener.config import Settings
from listener.operators.doctor.deadline import reason, within
from listener.operators.doctor.findings import Finding
from listener.store import Store, StoreError, open_store
from listener.store.firestore import FirestoreStore
from listener.store.firestore_queries import QUERIES

# Created once in the store's secrets and re-created (create-if-absent) on every run, so
# each run takes the store's write path without leaving anything new behind.
WRITE_PROBE = "doctor-write-probe"
INDEX_ADVICE = (
    "deploy the indexes in firestore.indexes.json: `firebase deploy --only firestore:indexes --project PROJECT` "
    "(see README, Firestore), wait until the console shows them enabled, then run the doctor again"
)


def check_store(settings: Settings, timeout: float, event_id: str | None = None) -> list[Finding]:
    where = f"STORE_URL {settings.store_url}"
    try:
        store = within(timeout, lambda: open_store(settings.store_url, settings))
    except Exception as exc:
        return [
            Finding.blocker(
                "store", f"cannot open {where}: {_describe(exc)}", "check STORE_URL and the store's credentials"
            )
        ]
    try:
        return _check_open_store(store, settings, timeout, event_id)
    finally:
        try:
            within(timeout, store.close)
        except Exception:  # the report is what matters; the process exits next
            pass


def _check_open_store(store: Store, settings: Settings, timeout: float, event_id: str | None) -> list[Finding]:
    where = f"STORE_URL {settings.store_url}"
    try:
        events = within(timeout, store.list_events)
    except Exception as exc:
        return [
            Finding.blocker("store.read", f"{where} does not answer reads: {_describe(exc)}", _store_advice(settings))
        ]
    names = ", ".join(sorted(event.event_id for event in events)[:10])
    findings = [
        Finding.ok("store.read", f"{where} answers reads: {len(events)} event(s){': ' + names if names else ''}")
    ]
    try:
        within(timeout, lambda: store.secret(WRITE_PROBE))
    except Exception as exc:
        findings.append(
            Finding.blocker(
                "store.write",
                f"{where} reads but does not take writes: {_describe(exc)}",
                "messages cannot be recorded: " + _store_advice(settings),
            )
        )
    else:
        findings.append(Finding.ok("store.write", f"{where} takes writes"))
    findings.append(_queries(store, settings, timeout))
    findings.append(_events(events, event_id))
    return findings


def _queries(store: Store, settings: Settings, timeout: float) -> Finding:
    """Run every query of the Firestore store's table (`firestore_queries.QUERIES`), each
    with values that match nothing: a real project refuses one whose index is missing."""
    if not isinstance(store, FirestoreStore):
        return Finding.ok("store.indexes", "SQLite makes its own indexes (the recovery sweep's, the exports')")
    for named in QUERIES:
        name = f"{named.name} ({named.purpose})"
        try:
            within(timeout, partial(store.probe, named))
        except StoreError as exc:
            refusal = exc.__cause__
            if not isinstance(refusal, google_errors.FailedPrecondition):
                return Finding.blocker(
                    "store.indexes", f"the query for {name} failed: {_describe(exc)}", _store_advice(settings)
                )
            return Finding.blocker(
                "store.indexes", f"Firestore refused the query for {name}: {refusal.message}", INDEX_ADVICE
            )
        except Exception as exc:
            return Finding.blocker(
                "store.indexes", f"the query for {name} failed: {_describe(exc)}", _store_advice(settings)
            )
    if settings.firestore_emulator_host:
        return Finding.ok(
            "store.indexes",
            f"the store's {len(QUERIES)} queries run on the emulator, which needs no indexes; "
            "a real project needs firestore.indexes.json deployed (see README, Firestore)",
        )
    return Finding.ok("store.indexes", f"the store's {len(QUERIES)} queries run: their Firestore indexes exist")


def _events(events: list, event_id: str | None) -> Finding:
    if event_id is None:
        if not events:
            return Finding.warning(
                "store.events",
                "no event in the store: participants have nothing to join",
                "add one: `listener events add FILE`",
            )
        return Finding.ok(
            "store.events", f"{sum(not event.closed for event in events)} of {len(events)} event(s) open to newcomers"
        )
    event = next((event for event in events if event.event_id.casefold() == event_id.casefold()), None)
    if event is None:
        return Finding.blocker(
            "store.events",
            f"no event {event_id} in the store",
            f"add it: `listener events add FILE` (a file with event_id: {event_id})",
        )
    if event.closed:
        return Finding.blocker(
            "store.events",
            f"event {event.event_id} is closed: newcomers are told so",
            "set closed: false in its file and run `listener events update FILE`",
        )
    return Finding.ok("store.events", f"event {event.event_id} ({event.event_name or 'no name'}) is open to newcomers")


def _describe(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, StoreError) else reason(exc)


def _store_advice(settings: Settings) -> str:
    if urlsplit(settings.store_url).scheme == "firestore":
        return (
            "check that the Firestore database exists (native mode), that FIREBASE_CREDENTIALS is a key of a service "
            "account with the Cloud Datastore User role, and that Google Cloud is reachable from here"
        )
    return "check that no other program holds the database file locked, that the disk is not full, and that this user may write the file"
