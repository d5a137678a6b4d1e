"""The embedded default store: one SQLite file in WAL mode.

Tables mirror the Firestore collections of the brief (`user_event_tracking`, the events'
`info` documents, the per-event participant profiles, interactions, inbox, outbox), each
row holding the model as JSON beside the columns that queries need. One message's outcome
is one `BEGIN IMMEDIATE` transaction guarded by the snapshot's version, so two processes
on one database file never lose an update.

Every call has a deadline (`STORE_TIMEOUT_SECONDS`): a write waits that long in all for
this process's other writers and for another process holding SQLite's write lock, then
raises `StoreUnavailable`, having released everything it took. Deleted rows are
overwritten (`secure_delete`), and a forget checkpoints the write-ahead log, so a
forgotten number is not left readable in the database file or its WAL.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path

from listener.config import DEFAULT_STORE_TIMEOUT_SECONDS
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
from listener.store.base import StoreError, StoreUnavailable, VersionConflict
from listener.store.documents import (
    event_key,
    inbox_key,
    profile_document,
    sortable_time,
)
from listener.store.guard import guard_errors
from listener.store.rules import (
    PAGE_SIZE,
    failed_attempt,
    pages,
    send_result,
    with_result,
)
from listener.store.write_lock import WriteLock

SCHEMA = """
CREATE TABLE IF NOT EXISTS user_event_tracking (
    participant TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS event_info (
    event_key TEXT PRIMARY KEY,
    event_id TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS event_participants (
    event_key TEXT NOT NULL,
    participant TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (event_key, participant)
);
CREATE TABLE IF NOT EXISTS interactions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    participant TEXT NOT NULL,
    event_key TEXT,
    at TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS inbox (
    message_sid TEXT PRIMARY KEY,
    participant TEXT NOT NULL,
    status TEXT NOT NULL,
    received_at TEXT NOT NULL,
    data TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE TABLE IF NOT EXISTS forgotten_messages (
    sid_hash TEXT PRIMARY KEY
);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    participant TEXT NOT NULL,
    status TEXT NOT NULL,
    data TEXT NOT NULL,
    claimed_until TEXT,
    created_at TEXT,
    sent_at TEXT
);
CREATE TABLE IF NOT EXISTS secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS blocked_numbers (
    key TEXT PRIMARY KEY,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS turns (
    participant TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    until TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS health (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at TEXT NOT NULL
);
"""

INDEXES = """
CREATE INDEX IF NOT EXISTS interactions_by_event ON interactions (event_key, seq);
CREATE INDEX IF NOT EXISTS interactions_by_participant ON interactions (participant, seq);
CREATE INDEX IF NOT EXISTS inbox_pending ON inbox (status, received_at);
CREATE INDEX IF NOT EXISTS inbox_waiting ON inbox (participant, received_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS outbox_status ON outbox (status, seq);
CREATE INDEX IF NOT EXISTS outbox_claims ON outbox (status, claimed_until);
CREATE INDEX IF NOT EXISTS outbox_by_participant ON outbox (participant, created_at);
CREATE INDEX IF NOT EXISTS outbox_sent ON outbox (status, sent_at);
CREATE INDEX IF NOT EXISTS outbox_provider_sid ON outbox (json_extract(data, '$.provider_sid'));
"""

SCHEMA_NAMES = re.compile(r"IF NOT EXISTS (\w+)")

COLUMNS_ADDED: dict[str, dict[str, tuple[str, str | None]]] = {
    "inbox": {
        "attempts": ("INTEGER NOT NULL DEFAULT 0", None),
        "last_error": ("TEXT", None),
    },
    "outbox": {
        # JSON's `...Z` made sortable (`...+00:00`, see `sortable_time`)
        "claimed_until": ("TEXT", "replace(json_extract(data, '$.claimed_until'), 'Z', '+00:00')"),
        "created_at": ("TEXT", "replace(json_extract(data, '$.created_at'), 'Z', '+00:00')"),
        "sent_at": ("TEXT", "replace(json_extract(data, '$.sent_at'), 'Z', '+00:00')"),
    },
}
"""Columns newer than the first schema, per table: added to a database made before them
(their definition, and the expression that fills them from each row's JSON)."""

_TRANSIENT_CODES = {
    sqlite3.SQLITE_BUSY,
    sqlite3.SQLITE_LOCKED,
    sqlite3.SQLITE_FULL,
    sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_NOMEM,
    sqlite3.SQLITE_INTERRUPT,
    sqlite3.SQLITE_PROTOCOL,
}
"""Primary result codes of trouble that can pass: locked, busy, disk full, I/O errors."""


def _store_error(exc: Exception) -> StoreError | None:
    """`StoreUnavailable` for a lock or a full or failing disk, `StoreError` for any other
    SQLite error (a corrupt or unreadable file, a closed connection); None otherwise."""
    if not isinstance(exc, sqlite3.Error):
        return None
    code = getattr(exc, "sqlite_errorcode", None)
    transient = code is not None and code & 0xFF in _TRANSIENT_CODES
    if transient or "database is locked" in str(exc):
        return StoreUnavailable(f"SQLite store: {exc}")
    return StoreError(f"SQLite store: {exc}")


WAITING = (
    "SELECT message_sid, received_at, json_extract(data, '$.recorded_by') FROM inbox"
    " WHERE participant = ? AND status = 'pending'"
)
"""A participant's waiting messages (put in order by `in_order`), through `inbox_waiting`: an
index of the pending rows only, a few pages however large the inbox grows."""


def _waiting(conn: sqlite3.Connection, participant: str) -> list[Waiting]:
    rows = conn.execute(WAITING, (participant,)).fetchall()
    return in_order([Waiting(message_sid=sid, received_at=at, recorded_by=by) for sid, at, by in rows])


def _claim_end(reply: OutboundReply) -> str | None:
    """The `claimed_until` column: when the reply's claim ends, as the recovery query compares it."""
    return sortable_time(reply.claimed_until) if reply.claimed_until else None


@guard_errors(_store_error)
class SQLiteStore:
    """`Store` on one SQLite database file (or `:memory:` for a single process)."""

    def __init__(self, path: str | Path, timeout: float = DEFAULT_STORE_TIMEOUT_SECONDS) -> None:
        self.path = str(path)
        self.timeout = timeout
        self._local = threading.local()
        self._memory_conn: sqlite3.Connection | None = None
        self._write_lock = WriteLock()
        try:
            if self.path == ":memory:":
                self._memory_conn = self._connect()
            if not self._schema_is_current(self._conn()):
                self._update_schema()
        except sqlite3.Error as exc:
            raise _store_error(exc) from exc

    @staticmethod
    def _schema_is_current(conn: sqlite3.Connection) -> bool:
        """Read-only, so a process can start while another holds the write lock."""
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        if not set(SCHEMA_NAMES.findall(SCHEMA + INDEXES)) <= names:
            return False
        return all(
            set(added) <= {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            for table, added in COLUMNS_ADDED.items()
        )

    def _update_schema(self) -> None:
        """Create what is missing, under the write lock: two processes starting on an old
        database at once add a column once. Columns come before the indexes that use them."""
        with self._write() as conn:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            for table, added in COLUMNS_ADDED.items():
                columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
                for column, (definition, fill) in added.items():
                    if column not in columns:
                        conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
                        if fill is not None:
                            conn.execute(f"UPDATE {table} SET {column} = {fill}")
            for statement in INDEXES.split(";"):
                if statement.strip():
                    conn.execute(statement)

    # connections -------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            parent = Path(self.path).parent
            if not parent.exists():
                raise StoreError(f"cannot open SQLite store {self.path}: folder {parent} does not exist")
        try:
            conn = sqlite3.connect(
                self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA secure_delete=ON")
            conn.execute(f"PRAGMA busy_timeout={self._busy_ms(self.timeout)}")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open SQLite store {self.path}: {exc}") from exc
        return conn

    @staticmethod
    def _busy_ms(seconds: float) -> int:
        return max(1, int(seconds * 1000))

    def _conn(self) -> sqlite3.Connection:
        if self._memory_conn is not None:
            return self._memory_conn
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def _discard(self, conn: sqlite3.Connection) -> None:
        """Close a connection left in an unknown state; the thread opens a fresh one."""
        if conn is self._memory_conn:
            return
        if getattr(self._local, "conn", None) is conn:
            self._local.conn = None
        try:
            conn.close()
        except sqlite3.Error:
            pass

    class _Transaction:
        """One write: this process's write lock, then SQLite's (`BEGIN IMMEDIATE`), both
        within the store's deadline, and both released however the write ends."""

        def __init__(self, store: SQLiteStore, mode: str, urgent: bool = False) -> None:
            self.store = store
            self.mode = mode
            self.urgent = urgent

        def __enter__(self) -> sqlite3.Connection:
            store = self.store
            deadline = time.monotonic() + store.timeout
            if not store._write_lock.acquire(store.timeout, urgent=self.urgent):
                raise StoreUnavailable(
                    f"SQLite store {store.path}: this process's other writes held it past {store.timeout:g}s"
                )
            try:
                self.conn = store._conn()
                left = deadline - time.monotonic()
                # Waiting for the lock above used part of the deadline: SQLite gets the rest.
                self.shortened = left < store.timeout - 0.05
                if self.shortened:
                    self.conn.execute(f"PRAGMA busy_timeout={store._busy_ms(left)}")
                self.conn.execute(f"BEGIN {self.mode}")
            except BaseException:
                self._restore_busy_timeout()
                store._write_lock.release()
                raise
            return self.conn

        def __exit__(self, exc_type, exc, tb) -> None:
            try:
                if exc_type is None:
                    try:
                        self.conn.execute("COMMIT")
                    except BaseException:
                        self._abandon()
                        raise
                else:
                    self._abandon()
            finally:
                self._restore_busy_timeout()
                self.store._write_lock.release()

        def _abandon(self) -> None:
            """Roll back; a connection that cannot is closed rather than reused mid-write."""
            if not self.conn.in_transaction:
                return
            try:
                self.conn.execute("ROLLBACK")
            except sqlite3.Error:
                self.store._discard(self.conn)

        def _restore_busy_timeout(self) -> None:
            if getattr(self, "shortened", False):
                try:
                    self.conn.execute(f"PRAGMA busy_timeout={self.store._busy_ms(self.store.timeout)}")
                except sqlite3.Error:
                    self.store._discard(self.conn)

    def _write(self, urgent: bool = False) -> _Transaction:
        """A write transaction; `urgent` for the webhook's, which go before the others."""
        return self._Transaction(self, "IMMEDIATE", urgent)

    def _read(self) -> sqlite3.Connection:
        return self._conn()

    # inbox -------------------------------------------------------------------------------

    def record_inbound(self, message: InboundMessage) -> bool:
        return self.record_inbound_many([message])[0]

    def record_inbound_many(self, messages: Sequence[InboundMessage]) -> list[bool]:
        """One transaction, one statement each: recorded unless its MessageSid is in the
        inbox or a tombstone. Urgent: Twilio waits on it."""
        with self._write(urgent=True) as conn:
            return [
                conn.execute(
                    "INSERT OR IGNORE INTO inbox (message_sid, participant, status, received_at, data)"
                    " SELECT ?, ?, 'pending', ?, ?"
                    " WHERE NOT EXISTS (SELECT 1 FROM forgotten_messages WHERE sid_hash = ?)",
                    (
                        message.message_sid,
                        message.participant,
                        sortable_time(message.received_at),
                        message.model_dump_json(),
                        inbox_key(message.message_sid),
                    ),
                ).rowcount
                == 1
                for message in messages
            ]

    def inbound_status(self, message_sid: str) -> InboxStatus | None:
        row = self._read().execute(
            "SELECT status FROM inbox WHERE message_sid = ?", (message_sid,)
        ).fetchone()
        return row[0] if row else None

    def pending_inbound(self, received_before: datetime, limit: int = 100) -> list[InboundMessage]:
        rows = self._read().execute(
            "SELECT data FROM inbox WHERE status = 'pending' AND received_at < ?"
            " ORDER BY received_at, rowid LIMIT ?",
            (sortable_time(received_before), limit),
        ).fetchall()
        return [InboundMessage.model_validate_json(row[0]) for row in rows]

    def pending_message(self, message_sid: str) -> InboundMessage | None:
        row = self._read().execute(
            "SELECT data FROM inbox WHERE message_sid = ? AND status = 'pending'", (message_sid,)
        ).fetchone()
        return InboundMessage.model_validate_json(row[0]) if row else None

    def record_failed_attempt(self, message_sid: str, error: str) -> int:
        with self._write() as conn:
            row = conn.execute("SELECT status, attempts FROM inbox WHERE message_sid = ?", (message_sid,)).fetchone()
            changes = failed_attempt(*row, error) if row else None
            if changes is None:
                return 0
            conn.execute(
                "UPDATE inbox SET attempts = ?, last_error = ? WHERE message_sid = ?",
                (changes["attempts"], changes["last_error"], message_sid),
            )
            return changes["attempts"]

    # snapshot ----------------------------------------------------------------------------

    def load_participant(self, participant: str) -> ParticipantSnapshot | None:
        row = self._read().execute(
            "SELECT data FROM user_event_tracking WHERE participant = ?", (participant,)
        ).fetchone()
        return ParticipantSnapshot.model_validate_json(row[0]) if row else None

    def load_queue(self, participant: str) -> tuple[ParticipantSnapshot | None, Queue]:
        """Three indexed reads of the local file (nothing is billed): the snapshot, the
        waiting inbox rows, the turn."""
        conn = self._read()
        turn = conn.execute("SELECT owner, until FROM turns WHERE participant = ?", (participant,)).fetchone()
        queue = Queue(
            waiting=_waiting(conn, participant),
            turn=Turn(owner=turn[0], until=turn[1]) if turn else None,
        )
        return self.load_participant(participant), queue

    def commit(self, outcome: Outcome) -> list[Waiting]:
        """One transaction; what still waits is read inside it, so a message recorded by
        another process before the commit is in the answer."""
        snapshot = outcome.snapshot
        with self._write() as conn:
            self._write_snapshot(conn, snapshot, outcome.expected_version)
            for event_id in outcome.touched_events:
                membership = snapshot.events.get(event_id)
                if membership is None:
                    continue
                conn.execute(
                    "INSERT INTO event_participants (event_key, participant, data) VALUES (?, ?, ?)"
                    " ON CONFLICT (event_key, participant) DO UPDATE SET data = excluded.data",
                    (
                        event_key(event_id),
                        snapshot.participant,
                        json.dumps(profile_document(event_id, snapshot.participant, membership)),
                    ),
                )
            for interaction in outcome.interactions:
                conn.execute(
                    "INSERT OR IGNORE INTO interactions (id, participant, event_key, at, data)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (
                        interaction.id,
                        interaction.participant,
                        event_key(interaction.event_id) if interaction.event_id else None,
                        interaction.at.isoformat(),
                        interaction.model_dump_json(),
                    ),
                )
            for reply in outcome.replies:
                conn.execute(
                    "INSERT OR IGNORE INTO outbox (id, participant, status, data, claimed_until, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (reply.id, reply.participant, reply.status, reply.model_dump_json(), _claim_end(reply),
                     sortable_time(reply.created_at)),
                )
            conn.execute(
                "UPDATE inbox SET status = 'done' WHERE message_sid = ?", (outcome.message_sid,)
            )
            still = _waiting(conn, snapshot.participant)
            self._write_turn(conn, snapshot.participant, outcome.turn if still else None)
            return still

    @staticmethod
    def _write_turn(conn: sqlite3.Connection, participant: str, turn: Turn | None) -> None:
        if turn is None:
            conn.execute("DELETE FROM turns WHERE participant = ?", (participant,))
            return
        conn.execute(
            "INSERT OR REPLACE INTO turns (participant, owner, until) VALUES (?, ?, ?)",
            (participant, turn.owner, sortable_time(turn.until)),
        )

    @staticmethod
    def _write_snapshot(
        conn: sqlite3.Connection, snapshot: ParticipantSnapshot, expected_version: int
    ) -> None:
        data = snapshot.model_dump_json()
        if expected_version == 0:
            try:
                conn.execute(
                    "INSERT INTO user_event_tracking (participant, version, data) VALUES (?, ?, ?)",
                    (snapshot.participant, snapshot.version, data),
                )
            except sqlite3.IntegrityError as exc:
                raise VersionConflict(snapshot.participant) from exc
            return
        cursor = conn.execute(
            "UPDATE user_event_tracking SET version = ?, data = ? WHERE participant = ? AND version = ?",
            (snapshot.version, data, snapshot.participant, expected_version),
        )
        if cursor.rowcount != 1:
            raise VersionConflict(snapshot.participant)

    # events ------------------------------------------------------------------------------

    def put_event(self, event: EventConfig) -> None:
        """Add or replace; an event keeps the spelling of its ID it was first stored with,
        since participants' snapshots refer to it by that spelling."""
        with self._write() as conn:
            row = conn.execute(
                "SELECT event_id FROM event_info WHERE event_key = ?", (event_key(event.event_id),)
            ).fetchone()
            if row is not None:
                event = event.model_copy(update={"event_id": row[0]})
            conn.execute(
                "INSERT INTO event_info (event_key, event_id, data) VALUES (?, ?, ?)"
                " ON CONFLICT (event_key) DO UPDATE SET data = excluded.data",
                (event_key(event.event_id), event.event_id, event.model_dump_json()),
            )

    def get_event(self, event_id: str) -> EventConfig | None:
        row = self._read().execute(
            "SELECT data FROM event_info WHERE event_key = ?", (event_key(event_id),)
        ).fetchone()
        return EventConfig.model_validate_json(row[0]) if row else None

    def list_events(self) -> list[EventConfig]:
        rows = self._read().execute("SELECT data FROM event_info ORDER BY event_key").fetchall()
        return [EventConfig.model_validate_json(row[0]) for row in rows]

    def delete_event(self, event_id: str) -> bool:
        with self._write() as conn:
            cursor = conn.execute(
                "DELETE FROM event_info WHERE event_key = ?", (event_key(event_id),)
            )
            return cursor.rowcount == 1

    def get_profile(self, event_id: str, participant: str) -> dict | None:
        row = self._read().execute(
            "SELECT data FROM event_participants WHERE event_key = ? AND participant = ?",
            (event_key(event_id), participant),
        ).fetchone()
        return json.loads(row[0]) if row else None

    # interactions ------------------------------------------------------------------------

    def iter_interactions(
        self,
        event_id: str | None = None,
        participant: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Iterator[Interaction]:
        clauses, params = [], []
        if event_id is not None:
            clauses.append("event_key = ?")
            params.append(event_key(event_id))
        if participant is not None:
            clauses.append("participant = ?")
            params.append(participant)
        if since is not None:
            clauses.append("at >= ?")
            params.append(since.isoformat())
        if until is not None:
            clauses.append("at < ?")
            params.append(until.isoformat())
        for data in self._pages("interactions", "seq", " AND ".join(clauses), tuple(params)):
            yield Interaction.model_validate_json(data)

    def save_transcript(
        self, interaction_id: str, text: str, model: str | None, language: str | None
    ) -> bool:
        with self._write() as conn:
            row = conn.execute("SELECT data FROM interactions WHERE id = ?", (interaction_id,)).fetchone()
            if row is None:
                return False
            interaction = Interaction.model_validate_json(row[0])
            interaction.transcript = text
            interaction.transcription_model = model
            interaction.transcript_language = language
            conn.execute(
                "UPDATE interactions SET data = ? WHERE id = ?",
                (interaction.model_dump_json(), interaction_id),
            )
            return True

    # outbox ------------------------------------------------------------------------------

    def pending_replies(self, now: datetime, limit: int = 100) -> list[OutboundReply]:
        """Each half of the query on its own index (`outbox_status`, `outbox_claims`)."""
        rows = self._read().execute(
            "SELECT seq, data FROM outbox WHERE status = 'pending'"
            " UNION ALL SELECT seq, data FROM outbox WHERE status = 'sending' AND claimed_until < ?"
            " ORDER BY seq LIMIT ?",
            (sortable_time(now), limit),
        ).fetchall()
        return [OutboundReply.model_validate_json(data) for _, data in rows]

    def claim_reply(self, reply_id: str, lease_seconds: float, claimant: str) -> OutboundReply | None:
        with self._write() as conn:
            row = conn.execute("SELECT data FROM outbox WHERE id = ?", (reply_id,)).fetchone()
            if row is None:
                return None
            reply = OutboundReply.model_validate_json(row[0]).claim(claimant, datetime.now(timezone.utc), lease_seconds)
            if reply is None:
                return None
            conn.execute(
                "UPDATE outbox SET status = ?, data = ?, claimed_until = ? WHERE id = ?",
                (reply.status, reply.model_dump_json(), _claim_end(reply), reply_id),
            )
            return reply

    def get_reply(self, reply_id: str) -> OutboundReply | None:
        row = self._read().execute("SELECT data FROM outbox WHERE id = ?", (reply_id,)).fetchone()
        return OutboundReply.model_validate_json(row[0]) if row else None

    def replies_for(self, participant: str, since: datetime) -> list[OutboundReply]:
        rows = self._read().execute(
            "SELECT data FROM outbox WHERE participant = ? AND created_at >= ? ORDER BY created_at, seq",
            (participant, sortable_time(since)),
        ).fetchall()
        return [OutboundReply.model_validate_json(row[0]) for row in rows]

    def update_reply(
        self,
        reply_id: str,
        status: ReplyStatus,
        provider_sid: str | None = None,
        error: str | None = None,
        composed: OutboundReply | None = None,
    ) -> None:
        with self._write() as conn:
            row = conn.execute("SELECT data FROM outbox WHERE id = ?", (reply_id,)).fetchone()
            if row is None:
                return
            stored = OutboundReply.model_validate_json(row[0])
            reply = with_result(stored, send_result(status, provider_sid, error, composed))
            if reply.text != stored.text:
                conn.execute(
                    "UPDATE interactions SET data = json_set(data, '$.text', ?) WHERE id = ?", (reply.text, reply_id)
                )
            conn.execute(
                "UPDATE outbox SET status = ?, data = ?, claimed_until = NULL, sent_at = ? WHERE id = ?",
                (status, reply.model_dump_json(), sortable_time(reply.sent_at) if reply.sent_at else None, reply_id),
            )

    def record_reply_part(self, reply_id: str, parts_sent: int, provider_sid: str | None) -> None:
        with self._write() as conn:
            row = conn.execute("SELECT data FROM outbox WHERE id = ?", (reply_id,)).fetchone()
            if row is None:
                return
            reply = OutboundReply.model_validate_json(row[0])
            reply.parts_sent = parts_sent
            reply.provider_sid = provider_sid
            conn.execute("UPDATE outbox SET data = ? WHERE id = ?", (reply.model_dump_json(), reply_id))

    def update_reply_by_provider_sid(
        self, provider_sid: str, status: ReplyStatus, error: str | None = None
    ) -> bool:
        with self._write() as conn:
            row = conn.execute(
                "SELECT id, data FROM outbox WHERE json_extract(data, '$.provider_sid') = ?",
                (provider_sid,),
            ).fetchone()
            if row is None:
                return False
            reply = OutboundReply.model_validate_json(row[1])
            if not takes_receipt(reply.status, status):
                return True
            reply.status = status
            if error is not None:
                reply.error = error
            conn.execute(
                "UPDATE outbox SET status = ?, data = ? WHERE id = ?",
                (status, reply.model_dump_json(), row[0]),
            )
            return True

    # privacy -----------------------------------------------------------------------------

    def forget_participant(self, participant: str) -> dict[str, int]:
        """Tombstone their MessageSids, delete their rows, then checkpoint the WAL so the
        deleted (and, with `secure_delete`, zeroed) pages replace the old ones on disk."""
        removed: dict[str, int] = {}
        with self._write() as conn:
            sids = {row[0] for row in conn.execute("SELECT message_sid FROM inbox WHERE participant = ?", (participant,))}
            sids |= {
                row[0]
                for row in conn.execute(
                    "SELECT id FROM interactions WHERE participant = ? AND json_extract(data, '$.direction') = 'in'",
                    (participant,),
                )
            }
            conn.executemany(
                "INSERT OR IGNORE INTO forgotten_messages (sid_hash) VALUES (?)", [(inbox_key(sid),) for sid in sids]
            )
            for table in ("user_event_tracking", "event_participants", "interactions", "inbox", "outbox"):
                cursor = conn.execute(f"DELETE FROM {table} WHERE participant = ?", (participant,))
                removed[table] = cursor.rowcount
            conn.execute("DELETE FROM turns WHERE participant = ?", (participant,))
        self._checkpoint()
        return removed

    def _checkpoint(self) -> None:
        """Copy the WAL into the database file and truncate it to nothing; raise when a
        reader kept it from finishing within the deadline (the old pages are still there)."""
        busy, _, _ = self._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            raise StoreUnavailable(
                f"SQLite store {self.path}: the data was deleted, but a reader kept the write-ahead log"
                " from being truncated; run the command again"
            )

    def secret(self, name: str) -> str:
        with self._write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO secrets (name, value) VALUES (?, ?)", (name, secrets.token_hex(32))
            )
            return conn.execute("SELECT value FROM secrets WHERE name = ?", (name,)).fetchone()[0]

    def add_block(self, entry: BlockedNumber) -> bool:
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO blocked_numbers (key, data) VALUES (?, ?)", (entry.key, entry.model_dump_json())
            )
            return cursor.rowcount == 1

    def remove_block(self, key: str) -> bool:
        with self._write() as conn:
            return conn.execute("DELETE FROM blocked_numbers WHERE key = ?", (key,)).rowcount == 1

    def list_blocks(self) -> list[BlockedNumber]:
        rows = self._read().execute("SELECT data FROM blocked_numbers ORDER BY key").fetchall()
        return [BlockedNumber.model_validate_json(row[0]) for row in rows]

    # operators' reading ------------------------------------------------------------------

    def _pages(self, table: str, key: str, where: str = "", params: tuple = ()) -> Iterator[str]:
        """The `data` of every matching row, ordered by `key` (columns, unique together,
        e.g. `sent_at, seq`), a page a query, on a connection of the stream's own: a long
        export must not hold the thread's one."""
        conn = self._memory_conn or self._connect()
        width = key.count(",") + 1

        def fetch(after: tuple | None, size: int) -> list[tuple]:
            clauses = [clause for clause in (where, f"({key}) > ({', '.join('?' * width)})" if after else "") if clause]
            clause = f"WHERE {' AND '.join(clauses)}" if clauses else ""
            arguments = (*params, *(after or ()), size)
            return conn.execute(f"SELECT {key}, data FROM {table} {clause} ORDER BY {key} LIMIT ?", arguments).fetchall()

        try:
            for row in pages(fetch, lambda row: row[:width], PAGE_SIZE):
                yield row[width]
        finally:
            if conn is not self._memory_conn:
                conn.close()

    def iter_participants(self) -> Iterator[ParticipantSnapshot]:
        for data in self._pages("user_event_tracking", "participant"):
            yield ParticipantSnapshot.model_validate_json(data)

    def iter_profiles(self, event_id: str) -> Iterator[dict]:
        for data in self._pages("event_participants", "participant", "event_key = ?", (event_key(event_id),)):
            yield json.loads(data)

    def iter_replies(
        self, statuses: Sequence[ReplyStatus], since: datetime | None = None
    ) -> Iterator[OutboundReply]:
        where, params, key = f"status IN ({', '.join('?' for _ in statuses)})", tuple(statuses), "seq"
        if since is not None:  # through `outbox_sent`: the rows since, not the whole outbox
            where, params, key = f"{where} AND sent_at >= ?", (*params, sortable_time(since)), "sent_at, seq"
        for data in self._pages("outbox", key, where, params):
            yield OutboundReply.model_validate_json(data)

    # lifecycle ---------------------------------------------------------------------------

    def ping(self) -> None:
        """A write, as urgent as the webhook's: it answers whether the store takes writes
        now, not how long this process's processing queue is."""
        with self._write(urgent=True) as conn:
            conn.execute(
                "INSERT OR REPLACE INTO health (id, checked_at) VALUES (1, ?)",
                (datetime.now(timezone.utc).isoformat(),),
            )

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
        if self._memory_conn is not None:
            self._memory_conn.close()
            self._memory_conn = None

