"""The production store: Google Cloud Firestore, with the original product's collections.

    user_event_tracking/{participant}                         the conversation snapshot
    user_event_tracking/{participant}/interactions/{id}       messages before any event
    {prefix}{event_id}/info                                   the event's configuration
    {prefix}{event_id}/{participant}                          the participant's profile
    {prefix}{event_id}/{participant}/interactions/{id}        one document per message
    inbox/{sha256 of message_sid}                             every delivery, once; a
                                                              forgotten one as a tombstone
    outbox/{reply_id}                                         replies owed

Many stateless web processes share one database, so a message costs one read and one
commit: `load_queue` remembers the snapshot document's update time, and `commit`
writes everything in one atomic batch whose snapshot write carries that update time as a
precondition. A commit from a stale read fails as a whole and becomes `VersionConflict`,
so the engine runs the message again from a fresh read; no second read, no lock, and no
transaction contention (which the emulator resolves only after seconds).

The snapshot document also holds the participant's queue: `waiting.m<key>` for each
message recorded and not yet processed (written in the same batch as its inbox item,
removed by the commit that processes it) and the `turn` of the process working through
them. So the one read shows every process what comes first, and a message recorded while
a commit was being prepared makes that commit fail on its precondition: what a commit
says still waits is exact.

Interactions and replies carry the commit's server timestamp and a sequence within it, so
exports stream in commit order through paged collection-group queries. Production needs
the composite indexes in `firestore.indexes.json` for those queries.

Every RPC carries a deadline (`STORE_TIMEOUT_SECONDS`, retries of transient errors
included): a Firestore that stops answering makes calls fail with `StoreUnavailable` in
seconds, instead of the client's default minute or more per call.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from google.api_core import exceptions as google_errors
from google.api_core.retry import Retry, if_transient_error
from google.auth import exceptions as auth_errors
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.types import write as write_types
from google.oauth2 import service_account
from pydantic import ValidationError

from listener.config import DEFAULT_STORE_TIMEOUT_SECONDS, Settings
from listener.models import (
    EventConfig,
    InboundMessage,
    InboxStatus,
    Interaction,
    OutboundReply,
    Outcome,
    ParticipantSnapshot,
    Queue,
    ReplyStatus,
    Turn,
    Waiting,
    in_order,
    takes_receipt,
)
from listener.operators.privacy import BlockedNumber
from listener.store import firestore_queries as q
from listener.store import firestore_writes
from listener.store.base import StoreError, StoreUnavailable, VersionConflict
from listener.store.coalesce import Coalesced
from listener.store.documents import (
    FORGOTTEN,
    event_key,
    inbox_key,
    profile_document,
    sortable_time,
)
from listener.store.firestore_queries import (
    BLOCKED,
    INBOX,
    INTERACTIONS,
    OUTBOX,
    SNAPSHOTS,
    NamedQuery,
)
from listener.store.guard import guard_errors
from listener.store.rules import counts_attempt, failed_attempt, pages, send_result

log = logging.getLogger(__name__)

INFO = "info"
SECRETS = "listener_secrets"
HEALTH = "listener_health"
DEFAULT_PREFIX = "AOI_"
PROBE_VALUE = "doctor-probe-matches-nothing"

BATCH_LIMIT = 500
"""Writes per delete or tombstone batch: Firestore's limit for one commit."""

COMMIT_SLOTS = 1000
"""Sequence numbers one commit may use: `version * COMMIT_SLOTS + position`."""

COALESCED_READS = 100
"""Snapshot documents read in one request, at most."""
COALESCED_WRITES = 400
"""Writes in one coalesced commit, at most (Firestore takes 500)."""

ATTEMPT_RACES = 5
"""Tries of a read-then-conditional-write that another process keeps changing under us."""

_CONFLICTS = (google_errors.AlreadyExists, google_errors.FailedPrecondition, google_errors.NotFound)
"""What a commit raises when its snapshot precondition fails (created, changed or deleted)."""

_TRANSIENT = (
    google_errors.ServiceUnavailable,
    google_errors.DeadlineExceeded,
    google_errors.InternalServerError,
    google_errors.TooManyRequests,
    google_errors.ResourceExhausted,
    google_errors.Aborted,
    google_errors.GatewayTimeout,
    google_errors.RetryError,
    auth_errors.TransportError,
)
"""Trouble that passes: Firestore down, slow, overloaded, or its answer past the deadline."""


def _store_error(exc: Exception) -> StoreError | None:
    """`StoreUnavailable` for transient trouble, `StoreError` for any other Google API or
    credentials error (permission denied, a bad request); None for anything else."""
    if isinstance(exc, _TRANSIENT):
        return StoreUnavailable(f"Firestore: {exc}")
    if isinstance(exc, (google_errors.GoogleAPIError, auth_errors.GoogleAuthError)):
        return StoreError(f"Firestore: {exc}")
    return None


def _never(_: Exception) -> bool:
    return False


def _tombstone() -> dict[str, Any]:
    """What stays of a forgotten participant's delivery: its key (a hash) and this."""
    return {"status": FORGOTTEN}


def _without_nulls(data: dict[str, Any]) -> dict[str, Any]:
    """Drop null fields (one level of maps deep) so a model's defaults apply.

    The original tools wrote `null` where they had no value; the original code then used
    its default, which is what a missing field gives here too.
    """
    return {
        key: _without_nulls(value) if isinstance(value, dict) else value
        for key, value in data.items()
        if value is not None
    }


def event_from_info(event_id: str, info: dict[str, Any]) -> EventConfig:
    """An `info` document as an `EventConfig`; its collection names the event.

    Documents written by the original tools hold no `event_id` and may lack any field.
    """
    return EventConfig.model_validate({**_without_nulls(info), "event_id": event_id})


def _ordered(document: dict[str, Any], sequence: int) -> dict[str, Any]:
    """Stamp a document with its commit's server time and its place within the commit."""
    return {**document, "committed_at": firestore.SERVER_TIMESTAMP, "commit_seq": sequence}


def _interaction_document(interaction: Interaction, sequence: int) -> dict[str, Any]:
    key = event_key(interaction.event_id) if interaction.event_id else None
    return _ordered({**interaction.model_dump(mode="json"), "event_key": key}, sequence)


def _inbox_document(message: InboundMessage) -> dict[str, Any]:
    """A pending inbox item; `received_at` in the form the recovery query compares. Fields
    with no value (a text's transcript) are left out: each field costs the store an index
    entry, and reading the item back gives the model's default."""
    document = message.model_dump(mode="json", exclude_none=True)
    return {**document, "received_at": sortable_time(message.received_at), "status": "pending"}


WAITING = "waiting"
TURN = "turn"


def _waiting_key(message_sid: str) -> str:
    """A message's entry in the snapshot document's `waiting` map: a plain field name."""
    return f"m{inbox_key(message_sid)}"


def _waiting_entry(message: InboundMessage) -> dict[str, Any]:
    return {"message_sid": message.message_sid, "received_at": sortable_time(message.received_at),
            "recorded_by": message.recorded_by}


def _queue(data: dict[str, Any]) -> Queue:
    """The queue kept in a snapshot document (none in one written before queues)."""
    waiting = [Waiting.model_validate(entry) for entry in (data.get(WAITING) or {}).values()]
    turn = data.get(TURN)
    return Queue(waiting=in_order(waiting), turn=Turn.model_validate(turn) if turn else None)


def _turn_document(turn: Turn | None) -> Any:
    return {"owner": turn.owner, "until": sortable_time(turn.until)} if turn else firestore.DELETE_FIELD


def _reply_document(reply: OutboundReply) -> dict[str, Any]:
    """An outbox reply; the times queries compare in the form they compare them."""
    document = reply.model_dump(mode="json")
    document["created_at"] = sortable_time(reply.created_at)
    document["claimed_until"] = sortable_time(reply.claimed_until) if reply.claimed_until else None
    document["sent_at"] = sortable_time(reply.sent_at) if reply.sent_at else None
    return document


def _in_window(interaction: Interaction, since: datetime | None, until: datetime | None) -> bool:
    """The same half-open window on `at` as the SQLite store (compared as ISO text)."""
    at = interaction.at.isoformat()
    if since is not None and at < since.isoformat():
        return False
    return until is None or at < until.isoformat()


def _pages(query: firestore.Query, deadline: dict[str, Any]) -> Iterator[firestore.DocumentSnapshot]:
    """Every document of an ordered query, a page at a time, each page a query resumed
    after the last document seen (a slow reader never holds a stream past its deadline)."""

    def fetch(after: firestore.DocumentSnapshot | None, size: int) -> list[firestore.DocumentSnapshot]:
        page = query.limit(size) if after is None else query.limit(size).start_after(after)
        return list(page.stream(**deadline))

    return pages(fetch, lambda document: document)


Loaded = tuple[ParticipantSnapshot | None, Queue]


class _Writes:
    """One caller's writes (a commit's, a send result's), encoded as they are added (see
    `firestore_writes`), to be queued on whichever batch commits them; each document once.
    `conflict` is what that caller gets should a precondition of its own fail; None:
    nothing (its document was deleted meanwhile, as a forgotten participant's reply is)."""

    def __init__(self, conflict: Exception | None) -> None:
        self.conflict = conflict
        self._writes: list[write_types.Write] = []

    def add(
        self,
        kind: firestore_writes.Kind,
        reference: firestore.DocumentReference,
        document: dict[str, Any],
        *,
        merge: bool = False,
        last_update_time: datetime | None = None,
    ) -> None:
        """`kind` is the batch method: create, set or update (with `last_update_time`,
        only if the document is unchanged since)."""
        self._writes.append(firestore_writes.write(
            kind, reference._document_path, document, merge=merge, last_update_time=last_update_time
        ))

    def queue_on(self, batch: firestore.WriteBatch) -> None:
        batch._add_write_pbs(self._writes)  # the hook the library's batches extend

    def __len__(self) -> int:
        return len(self._writes)


def _conflict(unit: _Writes, exc: Exception) -> BaseException | None:
    """A unit's own failed precondition: its conflict (its cause kept), or nothing."""
    if unit.conflict is None:
        return None
    unit.conflict.__cause__ = exc
    return unit.conflict


class _UpdateTimes:
    """The update time of each snapshot version this process read or wrote, with the
    messages that document said were waiting (version 0: a document holding only a queue,
    or none: no document).

    Bounded, least recently used first out, so snapshots loaded and never committed (a
    status command) cannot grow it. An entry stays after a commit: a second thread that
    read the same version then fails on the precondition, without another read.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._times: OrderedDict[tuple[str, int], tuple[datetime | None, list[Waiting]]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, participant: str, version: int, update_time: datetime | None, waiting: list[Waiting]) -> None:
        with self._lock:
            self._times[(participant, version)] = (update_time, waiting)
            self._times.move_to_end((participant, version))
            while len(self._times) > self._capacity:
                self._times.popitem(last=False)

    def get(self, participant: str, version: int) -> tuple[datetime | None, list[Waiting]] | None:
        with self._lock:
            return self._times.get((participant, version))


@guard_errors(_store_error)
class FirestoreStore:
    """`Store` on one Firestore database; safe to share between threads."""

    def __init__(
        self,
        client: firestore.Client,
        prefix: str = DEFAULT_PREFIX,
        timeout: float = DEFAULT_STORE_TIMEOUT_SECONDS,
    ) -> None:
        if not prefix or "/" in prefix:
            raise StoreError(f"Firestore collection prefix {prefix!r}: give a non-empty name without '/'")
        self.client = client
        self.prefix = prefix
        self.timeout = timeout
        self._update_times = _UpdateTimes()
        # A call: transient errors retried with backoff, all of it within the deadline.
        self._call: dict[str, Any] = {
            "retry": Retry(predicate=if_transient_error, initial=0.1, maximum=1.0, multiplier=2.0, timeout=timeout),
            "timeout": timeout,
        }
        # A streamed query: not retried, since the client resumes a failed stream with
        # its retry's predicate and no deadline; the caller tries again later instead.
        self._stream: dict[str, Any] = {"retry": Retry(predicate=_never), "timeout": timeout}
        self._loads = Coalesced(self._load_queues, limit=COALESCED_READS)
        self._commits = Coalesced(self._commit_many, limit=COALESCED_WRITES, weight=len)

    @classmethod
    def from_url(cls, url: str, settings: Settings) -> FirestoreStore:
        """`firestore://PROJECT?prefix=AOI_`; the project defaults to `GOOGLE_CLOUD_PROJECT`."""
        parsed = urlparse(url)
        prefix = parse_qs(parsed.query).get("prefix", [DEFAULT_PREFIX])[0]
        project = parsed.netloc or settings.google_cloud_project
        return cls(firestore_client(project, settings), prefix, settings.store_timeout_seconds)

    # queries: every one from the table in `firestore_queries`, whose indexes are declared

    def _query(self, named: NamedQuery, *values: Any, collection: str | None = None) -> firestore.Query:
        """A query of the table, its filters given `values` in their order."""
        if len(values) != len(named.filters):
            raise ValueError(f"{named.name}: {len(named.filters)} filter values expected, got {len(values)}")
        source = collection or named.collection
        query = self.client.collection_group(source) if named.group else self.client.collection(source)
        for spec, value in zip(named.filters, values, strict=True):
            query = query.where(filter=FieldFilter(spec.field, spec.op, value))
        for field in named.order:
            query = query.order_by(field)
        return query

    def probe(self, named: NamedQuery) -> None:
        """Run a query of the table with values that match nothing (for `listener doctor`):
        a real project refuses it (`StoreError` from `FailedPrecondition`) when its index
        is missing."""
        values = [[PROBE_VALUE] if spec.op == "in" else PROBE_VALUE for spec in named.filters]
        collection = f"{self.prefix}{PROBE_VALUE}" if named.collection == q.EVENT else None
        list(self._query(named, *values, collection=collection).limit(1).stream(**self._stream))

    # references --------------------------------------------------------------------------

    def _snapshot_ref(self, participant: str) -> firestore.DocumentReference:
        return self.client.collection(SNAPSHOTS).document(participant)

    def _event_collection(self, event_id: str) -> firestore.CollectionReference:
        return self.client.collection(f"{self.prefix}{event_id}")

    def _info_ref(self, event_id: str) -> firestore.DocumentReference:
        return self._event_collection(event_id).document(INFO)

    def _profile_ref(self, event_id: str, participant: str) -> firestore.DocumentReference:
        return self._event_collection(event_id).document(participant)

    def _inbox_ref(self, message_sid: str) -> firestore.DocumentReference:
        return self.client.collection(INBOX).document(inbox_key(message_sid))

    def _interaction_ref(self, interaction: Interaction) -> firestore.DocumentReference:
        owner = (
            self._profile_ref(interaction.event_id, interaction.participant)
            if interaction.event_id
            else self._snapshot_ref(interaction.participant)
        )
        return owner.collection(INTERACTIONS).document(interaction.id)

    def _stored_event_ids(self) -> list[str]:
        """The event IDs that have a collection, as spelled in the database."""
        return sorted(
            collection.id[len(self.prefix):]
            for collection in self.client.collections(**self._call)
            if collection.id.startswith(self.prefix) and len(collection.id) > len(self.prefix)
        )

    def _spellings(self, event_id: str) -> list[str]:
        """The stored spellings of an event ID: the exact one first, then other cases."""
        key = event_key(event_id)
        others = [stored for stored in self._stored_event_ids() if event_key(stored) == key]
        return [event_id, *(stored for stored in others if stored != event_id)]

    def _find_info(self, event_id: str) -> firestore.DocumentSnapshot | None:
        """The event's `info` document: the exact ID first (one read), then any case."""
        exact = self._info_ref(event_id).get(**self._call)
        if exact.exists:
            return exact
        for stored in self._spellings(event_id)[1:]:
            document = self._info_ref(stored).get(**self._call)
            if document.exists:
                return document
        return None

    def _event_id_of(self, info: firestore.DocumentSnapshot) -> str:
        """The event ID an `info` document belongs to: its collection's name, unprefixed."""
        return info.reference.parent.id[len(self.prefix):]

    # inbox -------------------------------------------------------------------------------

    def record_inbound(self, message: InboundMessage) -> bool:
        return self.record_inbound_many([message])[0]

    def record_inbound_many(self, messages: Sequence[InboundMessage]) -> list[bool]:
        """Create-if-absent each, and each noted as waiting on its snapshot document, all in
        one commit: of two processes recording one delivery, one wins, and a forgotten
        participant's delivery finds its tombstone in the way (nothing is written for it).

        A create that finds its document makes the whole commit fail; the documents of
        such a batch are then read in one call, and the commit is made again without those
        already there (again, should another process have recorded one meanwhile)."""
        recorded = {message.message_sid: False for message in messages}
        unique = list({message.message_sid: message for message in messages}.values())
        for _ in range(ATTEMPT_RACES):
            if not unique:
                break
            try:
                self._commit_recordings(unique)
            except google_errors.Conflict:
                references = [self._inbox_ref(message.message_sid) for message in unique]
                present = {document.id for document in self.client.get_all(references, **self._call) if document.exists}
                unique = [message for message in unique if inbox_key(message.message_sid) not in present]
                continue
            recorded.update(dict.fromkeys((message.message_sid for message in unique), True))
            break
        else:
            raise StoreUnavailable(f"inbox items recorded by others {ATTEMPT_RACES} times while recording a batch")
        return [recorded.pop(message.message_sid, False) for message in messages]

    def _commit_recordings(self, messages: Sequence[InboundMessage]) -> None:
        writes = _Writes(conflict=None)
        notes: dict[str, dict[str, Any]] = {}
        for message in messages:
            writes.add("create", self._inbox_ref(message.message_sid), _inbox_document(message))
            notes.setdefault(message.participant, {})[_waiting_key(message.message_sid)] = _waiting_entry(message)
        for participant, waiting in notes.items():
            writes.add("set", self._snapshot_ref(participant), {WAITING: waiting}, merge=True)
        batch = self.client.batch()
        writes.queue_on(batch)
        batch.commit(**self._call)

    def inbound_status(self, message_sid: str) -> InboxStatus | None:
        document = self._inbox_ref(message_sid).get(**self._call)
        status = document.get("status") if document.exists else None
        return None if status == FORGOTTEN else status

    def pending_inbound(self, received_before: datetime, limit: int = 100) -> list[InboundMessage]:
        query = self._query(q.PENDING_INBOX, "pending", sortable_time(received_before)).limit(limit)
        messages = []
        for document in query.stream(**self._stream):
            message = InboundMessage.model_validate(document.to_dict())
            if document.id != inbox_key(message.message_sid):
                self._move_to_its_key(document, message.message_sid)
            messages.append(message)
        return messages

    def _move_to_its_key(self, document: firestore.DocumentSnapshot, message_sid: str) -> None:
        """A pending item recorded under its raw MessageSid (before items were keyed by its
        hash) moves to its key, where processing looks for it; a copy already there (a
        retry recorded since) wins."""
        batch = self.client.batch()
        batch.create(self._inbox_ref(message_sid), document.to_dict())
        batch.delete(document.reference)
        try:
            batch.commit(**self._call)
        except google_errors.Conflict:
            document.reference.delete(**self._call)

    def pending_message(self, message_sid: str) -> InboundMessage | None:
        document = self._inbox_ref(message_sid).get(**self._call)
        if not document.exists or document.get("status") != "pending":
            return None
        return InboundMessage.model_validate(document.to_dict())

    def record_failed_attempt(self, message_sid: str, error: str) -> int:
        """Read, then write only if nobody wrote in between: a tombstone or a finished item
        is never written to."""
        reference = self._inbox_ref(message_sid)
        for _ in range(ATTEMPT_RACES):
            document = reference.get(**self._call)
            data = document.to_dict() if document.exists else {}
            changes = failed_attempt(data.get("status"), data.get("attempts"), error)
            if changes is None:
                return 0
            try:
                reference.update(
                    changes, option=self.client.write_option(last_update_time=document.update_time), **self._call
                )
            except (google_errors.FailedPrecondition, google_errors.NotFound):
                continue
            return changes["attempts"]
        raise StoreUnavailable(f"inbox item changed by others {ATTEMPT_RACES} times while counting a failure")

    # snapshot ----------------------------------------------------------------------------

    def load_participant(self, participant: str) -> ParticipantSnapshot | None:
        return self.load_queue(participant)[0]

    def load_queue(self, participant: str) -> tuple[ParticipantSnapshot | None, Queue]:
        """One read: the snapshot document holds both (one request for every thread
        reading at once)."""
        return self._loads(participant)

    def _load_queues(self, participants: Sequence[str]) -> list[Loaded | BaseException]:
        references = [self._snapshot_ref(participant) for participant in participants]
        if len(references) == 1:
            documents = {references[0].id: references[0].get(**self._call)}
        else:
            documents = {document.id: document for document in self.client.get_all(references, **self._call)}
        answers: list[Loaded | BaseException] = []
        for participant in participants:
            try:
                answers.append(self._loaded(participant, documents[participant]))
            except ValidationError as exc:  # this participant's alone
                answers.append(exc)
        return answers

    def _loaded(self, participant: str, document: firestore.DocumentSnapshot) -> Loaded:
        if not document.exists:
            self._update_times.remember(participant, 0, None, [])
            return None, Queue()
        data = document.to_dict()
        queue = _queue(data)
        # A document with a queue and no conversation yet: a first message is waiting.
        snapshot = ParticipantSnapshot.model_validate(data) if "state" in data else None
        version = snapshot.version if snapshot is not None else 0
        self._update_times.remember(participant, version, document.update_time, queue.waiting)
        return snapshot, queue

    def commit(self, outcome: Outcome) -> list[Waiting]:
        """What still waits comes from the read the precondition checks: exact. Commits
        made at once by several threads go in one request (see `_commit_many`)."""
        writes, still = self._outcome_writes(outcome)
        result = self._commits(writes)
        self._update_times.remember(outcome.snapshot.participant, outcome.snapshot.version, result, still)
        return still

    def _outcome_writes(self, outcome: Outcome) -> tuple[_Writes, list[Waiting]]:
        """The outcome's writes, its snapshot's first; what still waits after it."""
        snapshot = outcome.snapshot
        writes = _Writes(conflict=VersionConflict(snapshot.participant))
        still = self._write_snapshot(writes, outcome)
        for event_id in outcome.touched_events:
            membership = snapshot.events.get(event_id)
            if membership is not None:
                profile = profile_document(event_id, snapshot.participant, membership)
                # merge: a profile the original tools wrote keeps its fields (its old log)
                writes.add("set", self._profile_ref(event_id, snapshot.participant), profile, merge=True)
        first_sequence = snapshot.version * COMMIT_SLOTS
        for position, interaction in enumerate(outcome.interactions):
            writes.add("set", self._interaction_ref(interaction), _interaction_document(interaction, first_sequence + position))
        for position, reply in enumerate(outcome.replies):
            document = _ordered(_reply_document(reply), first_sequence + position)
            writes.add("set", self.client.collection(OUTBOX).document(reply.id), document)
        done = {"status": "done", "message_sid": outcome.message_sid, "participant": snapshot.participant}
        writes.add("set", self._inbox_ref(outcome.message_sid), done, merge=True)
        return writes, still

    def _write_snapshot(self, writes: _Writes, outcome: Outcome) -> list[Waiting]:
        """Queue the snapshot write with its precondition (absent, or unchanged since read),
        the message taken off the queue and the turn kept while others wait; what still
        waits, from that read."""
        snapshot, expected_version = outcome.snapshot, outcome.expected_version
        reference = self._snapshot_ref(snapshot.participant)
        document = snapshot.model_dump(mode="json")
        update_time, waiting = (
            self._update_times.get(snapshot.participant, expected_version)
            or self._current_read(snapshot.participant, expected_version)
        )
        if update_time is None:
            writes.add("create", reference, document)
            return []
        still = [item for item in waiting if item.message_sid != outcome.message_sid]
        document[f"{WAITING}.{_waiting_key(outcome.message_sid)}"] = firestore.DELETE_FIELD
        document[TURN] = _turn_document(outcome.turn if still else None)
        writes.add("update", reference, document, last_update_time=update_time)
        return still

    def _commit_many(self, units: Sequence[_Writes]) -> list[datetime | None | BaseException]:
        """One commit for every unit (each unit's first write's update time). Should a
        unit's precondition fail, the commit fails as a whole, not saying whose: each unit
        is then committed alone, and only the one at fault gets its `conflict`."""
        batch = self.client.batch()
        firsts = []
        for unit in units:
            firsts.append(len(batch))  # one write per document, so the index of its first
            unit.queue_on(batch)
        try:
            results = batch.commit(**self._call)
        except _CONFLICTS as exc:
            if len(units) == 1:
                return [_conflict(units[0], exc)]
            return [self._commit_many([unit])[0] for unit in units]
        return [results[first].update_time if first < len(results) else None for first in firsts]

    def _current_read(self, participant: str, expected_version: int) -> tuple[datetime | None, list[Waiting]]:
        """For a commit of a snapshot this process did not load: read it and check its version."""
        stored = self._snapshot_ref(participant).get(**self._call)
        if not stored.exists and expected_version == 0:
            return None, []
        data = stored.to_dict() if stored.exists else {}
        if not stored.exists or data.get("version", 0) != expected_version:
            raise VersionConflict(participant)
        return stored.update_time, _queue(data).waiting

    # events ------------------------------------------------------------------------------

    def put_event(self, event: EventConfig) -> None:
        """Add or replace an event; one stored under another case keeps its spelling.

        Its participants' profiles live in the collection of that spelling, so the event
        stays there rather than splitting into two collections.
        """
        existing = self._find_info(event.event_id)
        event_id = self._event_id_of(existing) if existing else event.event_id
        document = event.model_dump(mode="json") | {"event_id": event_id}
        self._info_ref(event_id).set(document, **self._call)

    def get_event(self, event_id: str) -> EventConfig | None:
        info = self._find_info(event_id)
        if info is None:
            return None
        return event_from_info(self._event_id_of(info), info.to_dict())

    def list_events(self) -> list[EventConfig]:
        """Every event whose `info` loads; one that does not is logged and left out."""
        references = [self._info_ref(event_id) for event_id in self._stored_event_ids()]
        events = []
        for info in self.client.get_all(references, **self._stream):
            if not info.exists:
                continue
            event_id = self._event_id_of(info)
            try:
                events.append(event_from_info(event_id, info.to_dict()))
            except ValidationError as exc:
                log.warning("event %s: its info document does not load: %s", event_id, exc)
        return sorted(events, key=lambda event: event_key(event.event_id))

    def delete_event(self, event_id: str) -> bool:
        """Delete the event's configuration; its participants' records stay."""
        info = self._find_info(event_id)
        if info is None:
            return False
        info.reference.delete(**self._call)
        return True

    def get_profile(self, event_id: str, participant: str) -> dict | None:
        for stored in self._spellings(event_id):
            document = self._profile_ref(stored, participant).get(**self._call)
            if document.exists:
                return document.to_dict()
        return None

    # interactions ------------------------------------------------------------------------

    def iter_interactions(
        self,
        event_id: str | None = None,
        participant: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Iterator[Interaction]:
        """Stream in commit order, page by page; the time window is applied while reading."""
        if event_id is not None and participant is not None:
            query = self._query(q.INTERACTIONS_OF_PARTICIPANT_IN_EVENT, event_key(event_id), participant)
        elif event_id is not None:
            query = self._query(q.INTERACTIONS_OF_EVENT, event_key(event_id))
        elif participant is not None:
            query = self._query(q.INTERACTIONS_OF_PARTICIPANT, participant)
        else:
            query = self._query(q.INTERACTIONS_ALL)
        for document in _pages(query, self._stream):
            interaction = Interaction.model_validate(document.to_dict())
            if _in_window(interaction, since, until):
                yield interaction

    def _find_interaction(self, interaction_id: str) -> firestore.DocumentReference | None:
        query = self._query(q.INTERACTION_BY_ID, interaction_id).limit(1)
        return next((document.reference for document in query.stream(**self._stream)), None)

    def save_transcript(
        self, interaction_id: str, text: str, model: str | None, language: str | None
    ) -> bool:
        reference = self._find_interaction(interaction_id)
        if reference is None:
            return False
        reference.update(
            {"transcript": text, "transcription_model": model, "transcript_language": language}, **self._call
        )
        return True

    # outbox ------------------------------------------------------------------------------

    def pending_replies(self, now: datetime, limit: int = 100) -> list[OutboundReply]:
        """Two indexed queries: the pending replies, and the claims that ended before `now`."""
        pending = self._query(q.PENDING_REPLIES, "pending").limit(limit)
        expired = self._query(q.LAPSED_CLAIMS, "sending", sortable_time(now)).limit(limit)
        documents = [*pending.stream(**self._stream), *expired.stream(**self._stream)]
        documents.sort(key=lambda document: (document.get("committed_at"), document.get("commit_seq")))
        return [OutboundReply.model_validate(document.to_dict()) for document in documents[:limit]]

    def claim_reply(self, reply_id: str, lease_seconds: float, claimant: str) -> OutboundReply | None:
        """Read, then write only if nobody wrote in between (the document's update time)."""
        reference = self.client.collection(OUTBOX).document(reply_id)
        document = reference.get(**self._call)
        if not document.exists:
            return None
        reply = OutboundReply.model_validate(document.to_dict()).claim(claimant, datetime.now(timezone.utc), lease_seconds)
        if reply is None or reply.claimed_until is None:
            return None
        changes = {"status": reply.status, "claimed_by": claimant, "claimed_until": sortable_time(reply.claimed_until)}
        try:
            reference.update(
                changes, option=self.client.write_option(last_update_time=document.update_time), **self._call
            )
        except (google_errors.FailedPrecondition, google_errors.NotFound):
            return None
        return reply

    def get_reply(self, reply_id: str) -> OutboundReply | None:
        document = self.client.collection(OUTBOX).document(reply_id).get(**self._call)
        return OutboundReply.model_validate(document.to_dict()) if document.exists else None

    def replies_for(self, participant: str, since: datetime) -> list[OutboundReply]:
        query = self._query(q.REPLIES_FOR, participant, sortable_time(since))
        return [OutboundReply.model_validate(document.to_dict()) for document in _pages(query, self._stream)]

    def update_reply(
        self,
        reply_id: str,
        status: ReplyStatus,
        provider_sid: str | None = None,
        error: str | None = None,
        composed: OutboundReply | None = None,
    ) -> None:
        """One commit, no read: the attempt count is a server-side increment, and a
        composed text goes to the reply and its interaction in the same batch."""
        changes = send_result(status, provider_sid, error, composed)
        if "sent_at" in changes:
            changes["sent_at"] = sortable_time(changes["sent_at"])
        if counts_attempt(status):
            changes["attempts"] = firestore.Increment(1)
        writes = _Writes(conflict=None)
        writes.add("update", self.client.collection(OUTBOX).document(reply_id), changes)
        if composed is not None:
            interaction = Interaction(
                id=reply_id, participant=composed.participant, event_id=composed.event_id, direction="out",
                kind="reply", state="", at=composed.created_at,
            )
            writes.add("set", self._interaction_ref(interaction), {"text": composed.text}, merge=True)
        self._commits(writes)  # a reply forgotten meanwhile (NotFound) is no one's to update

    def record_reply_part(self, reply_id: str, parts_sent: int, provider_sid: str | None) -> None:
        try:
            self.client.collection(OUTBOX).document(reply_id).update(
                {"parts_sent": parts_sent, "provider_sid": provider_sid}, **self._call
            )
        except google_errors.NotFound:
            return

    def update_reply_by_provider_sid(
        self, provider_sid: str, status: ReplyStatus, error: str | None = None
    ) -> bool:
        query = self._query(q.REPLY_BY_PROVIDER_SID, provider_sid).limit(1)
        document = next(iter(query.stream(**self._stream)), None)
        if document is None:
            return False
        if not takes_receipt(document.get("status"), status):
            return True
        changes: dict[str, Any] = {"status": status}
        if error is not None:
            changes["error"] = error
        document.reference.update(changes, **self._call)
        return True

    # privacy -----------------------------------------------------------------------------

    def forget_participant(self, participant: str) -> dict[str, int]:
        """Delete the participant everywhere: snapshot, profiles, interactions, inbox, outbox.

        Their inbox items become tombstones first (a replayed delivery then finds one where
        it would be recorded), and so do the MessageSids of their inbound interactions.
        The counts use the SQLite store's table names, so operators see one report shape.
        """
        inbox = self._tombstone_inbox(self._query(q.PARTICIPANTS_INBOX, participant))
        snapshot = self._snapshot_ref(participant)
        profiles = [self._profile_ref(event_id, participant) for event_id in self._stored_event_ids()]
        inbound: list[str] = []

        def note_inbound(document: firestore.DocumentSnapshot) -> None:
            if (document.to_dict() or {}).get("direction") == "in":
                inbound.append(document.id)

        removed = {
            "user_event_tracking": self._delete_existing([snapshot]),
            "event_participants": self._delete_existing(profiles),
            "interactions": self._delete_matching(
                self._query(q.PARTICIPANTS_INTERACTIONS, participant), note_inbound
            ),
            "inbox": inbox,
            "outbox": self._delete_matching(self._query(q.PARTICIPANTS_REPLIES, participant)),
        }
        self._commit_all((firestore.WriteBatch.set, self._inbox_ref(sid), _tombstone()) for sid in inbound)
        return removed

    def _tombstone_inbox(self, query: firestore.Query) -> int:
        """Replace every inbox item a query matches by a tombstone under its key; how many.

        A tombstone has no `participant`, so the query stops matching it: each page is
        the next one.
        """
        replaced = 0
        while True:
            documents = list(query.limit(BATCH_LIMIT // 2).stream(**self._stream))
            if not documents:
                return replaced
            batch = self.client.batch()
            for document in documents:
                key = self._inbox_ref(document.get("message_sid"))
                batch.set(key, _tombstone())
                if document.id != key.id:  # an item recorded before items were keyed by hash
                    batch.delete(document.reference)
            batch.commit(**self._call)
            replaced += len(documents)

    def _delete_existing(self, references: list[firestore.DocumentReference]) -> int:
        """Delete those of these documents that exist; how many did."""
        if not references:
            return 0
        existing = [
            document.reference for document in self.client.get_all(references, **self._stream) if document.exists
        ]
        self._delete(existing)
        return len(existing)

    def _delete_matching(
        self,
        query: firestore.Query,
        seen: Callable[[firestore.DocumentSnapshot], None] | None = None,
    ) -> int:
        """Delete every document a query matches, a page at a time (each shown to `seen`
        first); how many there were."""
        removed = 0
        while True:
            documents = list(query.limit(BATCH_LIMIT).stream(**self._stream))
            if not documents:
                return removed
            for document in documents:
                if seen is not None:
                    seen(document)
            self._delete(document.reference for document in documents)
            removed += len(documents)

    def _delete(self, references: Iterable[firestore.DocumentReference]) -> None:
        self._commit_all((firestore.WriteBatch.delete, reference) for reference in references)

    def _commit_all(self, writes: Iterable[tuple]) -> None:
        """Commit writes (`(WriteBatch method, reference, *arguments)`) in batches of at
        most `BATCH_LIMIT`, the most one commit takes."""
        batch = self.client.batch()
        for count, (method, reference, *arguments) in enumerate(writes, start=1):
            method(batch, reference, *arguments)
            if count % BATCH_LIMIT == 0:
                batch.commit(**self._call)
                batch = self.client.batch()
        batch.commit(**self._call)

    def secret(self, name: str) -> str:
        """Create-if-absent, then read: of two processes making it at once, one wins."""
        reference = self.client.collection(SECRETS).document(name)
        try:
            reference.create({"value": secrets.token_hex(32)}, **self._call)
        except google_errors.Conflict:
            pass
        return reference.get(**self._call).get("value")

    def add_block(self, entry: BlockedNumber) -> bool:
        try:
            self.client.collection(BLOCKED).document(entry.key).create(entry.model_dump(mode="json"), **self._call)
        except google_errors.Conflict:
            return False
        return True

    def remove_block(self, key: str) -> bool:
        return self._delete_existing([self.client.collection(BLOCKED).document(key)]) == 1

    def list_blocks(self) -> list[BlockedNumber]:
        return [
            BlockedNumber.model_validate(document.to_dict())
            for document in self._query(q.BLOCKS).stream(**self._stream)
        ]

    # operators' reading ------------------------------------------------------------------

    def iter_participants(self) -> Iterator[ParticipantSnapshot]:
        query = self._query(q.SNAPSHOTS_ALL)
        for document in _pages(query, self._stream):
            data = document.to_dict()
            if "state" in data:  # not a queue alone (a first message not processed yet)
                yield ParticipantSnapshot.model_validate(data)

    def iter_profiles(self, event_id: str) -> Iterator[dict]:
        """Every spelling's collection (documents the original tools wrote under another
        case included), the `info` document left out."""
        for stored in self._spellings(event_id):
            query = self._query(q.PROFILES, collection=f"{self.prefix}{stored}")
            for document in _pages(query, self._stream):
                if document.id != INFO:
                    yield {"participant": document.id, **document.to_dict()}

    def iter_replies(
        self, statuses: Sequence[ReplyStatus], since: datetime | None = None
    ) -> Iterator[OutboundReply]:
        if since is None:
            query = self._query(q.REPLIES, list(statuses))
        else:
            query = self._query(q.REPLIES_SENT_SINCE, list(statuses), sortable_time(since))
        for document in _pages(query, self._stream):
            yield OutboundReply.model_validate(document.to_dict())

    # lifecycle ---------------------------------------------------------------------------

    def ping(self) -> None:
        """One blind write (no read, no transaction), of one small document."""
        self.client.collection(HEALTH).document("probe").set(
            {"checked_at": firestore.SERVER_TIMESTAMP}, **self._call
        )

    def close(self) -> None:
        self.client.close()


def _service_account(source: str) -> service_account.Credentials:
    """`FIREBASE_CREDENTIALS`: a service-account JSON document, or the path of one."""
    try:
        if source.lstrip().startswith("{"):
            return service_account.Credentials.from_service_account_info(json.loads(source))
        return service_account.Credentials.from_service_account_file(str(Path(source).expanduser()))
    except (OSError, ValueError) as exc:
        raise StoreError(f"FIREBASE_CREDENTIALS: not a service-account JSON or a path to one ({exc})") from exc


def firestore_client(project: str | None, settings: Settings) -> firestore.Client:
    """A client for the project, on the emulator when `FIRESTORE_EMULATOR_HOST` names one.

    The official client reads the emulator's address from the process environment only, so
    a value that came from `.env` is put there first; it then connects without credentials.
    Otherwise `FIREBASE_CREDENTIALS` is used when set, else application default credentials.
    """
    if settings.firestore_emulator_host:
        os.environ.setdefault("FIRESTORE_EMULATOR_HOST", settings.firestore_emulator_host)
        return firestore.Client(project=project)
    credentials = _service_account(settings.firebase_credentials) if settings.firebase_credentials else None
    if credentials is not None:
        project = project or credentials.project_id
    return firestore.Client(project=project, credentials=credentials)
