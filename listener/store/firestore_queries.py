"""Every query the Firestore store issues, listed once: the store builds its queries from
this table, a test proves `firestore.indexes.json` has an index for each, and `listener
doctor` runs each one against the real project.

Real Firestore refuses a query it has no index for (the emulator runs anything), so a
query missing here or its index missing there would fail only in production, on first
use. What needs what (Firestore's rules, see `needed_index`):
- on one collection, single-field indexes exist for every field: a query with equality
  filters only, or one field filtered by range and ordered (by that field alone), needs
  nothing more;
- equality or `in` on some fields with a range or an order on another, or several
  orders, needs a composite index: the equality fields first (in any order), then the
  range or order fields in order;
- on a collection group (every `interactions` collection at once), single-field indexes
  exist only where a field override enables them for the group, and composites must be
  declared for the group.
Ordering by document ID (`__name__`) is in every index already.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

DOCUMENT_ID = "__name__"
EQUALITY = frozenset({"==", "in"})
RANGE = frozenset({"<", "<=", ">", ">="})

Scope = Literal["COLLECTION", "COLLECTION_GROUP"]


@dataclass(frozen=True)
class Filter:
    field: str
    op: str


@dataclass(frozen=True)
class NamedQuery:
    """One query: where it reads (`collection`, or every collection of that name with
    `group`), what it filters on and how it is ordered; `purpose` says who asks it."""

    name: str
    purpose: str
    collection: str
    filters: tuple[Filter, ...] = ()
    order: tuple[str, ...] = ()
    group: bool = False

    @property
    def scope(self) -> Scope:
        return "COLLECTION_GROUP" if self.group else "COLLECTION"


@dataclass(frozen=True)
class NeededIndex:
    """A composite index (`fields` in order, all ascending), or, for a collection-group
    query served by one field, the field override that enables it (`override`)."""

    collection: str
    scope: Scope
    fields: tuple[str, ...]
    equality: frozenset[str]
    override: bool = False

    def covered_by(self, declared: dict[str, Any]) -> bool:
        """Whether `firestore.indexes.json` (parsed) declares this index."""
        if self.override:
            return any(
                override.get("collectionGroup") == self.collection
                and override.get("fieldPath") == self.fields[0]
                and any(index.get("queryScope") == self.scope and index.get("order") == "ASCENDING"
                        for index in override.get("indexes", []))
                for override in declared.get("fieldOverrides", [])
            )
        return any(self._matches(index) for index in declared.get("indexes", []))

    def _matches(self, index: dict[str, Any]) -> bool:
        if index.get("collectionGroup") != self.collection or index.get("queryScope", "COLLECTION") != self.scope:
            return False
        fields = [field for field in index.get("fields", []) if field.get("fieldPath") != DOCUMENT_ID]
        if len(fields) != len(self.fields) or any(field.get("order") != "ASCENDING" for field in fields):
            return False
        paths = [field["fieldPath"] for field in fields]
        equal = len(self.equality)
        return set(paths[:equal]) == self.equality and paths[equal:] == list(self.fields[equal:])

    def describe(self) -> str:
        kind = "field override" if self.override else "composite index"
        return f"{kind} on {self.collection} ({self.scope}): {', '.join(self.fields)}"


def needed_index(query: NamedQuery) -> NeededIndex | None:
    """The index a query needs beyond what Firestore makes by itself; None for none."""
    equality = [f.field for f in query.filters if f.op in EQUALITY]
    ranged = [f.field for f in query.filters if f.op in RANGE]
    unknown = [f.op for f in query.filters if f.op not in EQUALITY | RANGE]
    if unknown or len(set(ranged)) > 1:
        raise ValueError(f"{query.name}: a query this table cannot check ({unknown or ranged})")
    order = [field for field in query.order if field != DOCUMENT_ID]
    if ranged and (not order or order[0] != ranged[0]):
        order = [ranged[0], *order]  # Firestore orders by the range field first
    fields = [*dict.fromkeys(equality), *(field for field in order if field not in equality)]
    if len(fields) > 1 and (order or len(equality) < len(fields)):
        return NeededIndex(query.collection, query.scope, tuple(fields), frozenset(equality))
    if query.group and fields:
        # Single-field indexes for a collection group exist only when declared; several
        # equality filters are served by merging one override per field.
        return NeededIndex(query.collection, query.scope, (fields[0],), frozenset(equality), override=True)
    return None


def needed_indexes(query: NamedQuery) -> list[NeededIndex]:
    """Every index a query needs: its composite, or the override of each field a
    collection-group query filters on by equality alone."""
    needed = needed_index(query)
    if needed is None or not needed.override:
        return [needed] if needed else []
    return [NeededIndex(query.collection, query.scope, (field,), frozenset({field}), override=True)
            for field in dict.fromkeys(f.field for f in query.filters)]


INBOX = "inbox"
OUTBOX = "outbox"
INTERACTIONS = "interactions"
SNAPSHOTS = "user_event_tracking"
BLOCKED = "blocked_numbers"
EVENT = "{prefix}{event_id}"
"""An event's own collection (`AOI_CLIMATE24`): its `info` and its participants' profiles."""

PENDING_INBOX = NamedQuery(
    "pending inbox items", "the recovery sweep", INBOX,
    (Filter("status", "=="), Filter("received_at", "<")), ("received_at",),
)
PENDING_REPLIES = NamedQuery(
    "pending replies", "the recovery sweep", OUTBOX,
    (Filter("status", "=="),), ("committed_at", "commit_seq"),
)
LAPSED_CLAIMS = NamedQuery(
    "replies whose claim ended", "the recovery sweep", OUTBOX,
    (Filter("status", "=="), Filter("claimed_until", "<")), ("claimed_until",),
)
REPLIES_FOR = NamedQuery(
    "a participant's recent replies", "the lookup of a send of unknown outcome", OUTBOX,
    (Filter("participant", "=="), Filter("created_at", ">=")), ("created_at",),
)
REPLY_BY_PROVIDER_SID = NamedQuery(
    "the reply of a delivery receipt", "status callbacks", OUTBOX, (Filter("provider_sid", "=="),),
)
REPLIES = NamedQuery(
    "replies by status", "stats", OUTBOX, (Filter("status", "in"),), (DOCUMENT_ID,),
)
REPLIES_SENT_SINCE = NamedQuery(
    "replies Twilio accepted since", "stats and the console's Twilio queue", OUTBOX,
    (Filter("status", "in"), Filter("sent_at", ">=")), ("sent_at",),
)
INTERACTIONS_ALL = NamedQuery(
    "every interaction", "exports", INTERACTIONS, (), ("committed_at", "commit_seq"), group=True,
)
INTERACTIONS_OF_EVENT = NamedQuery(
    "an event's interactions", "exports, stats, the console", INTERACTIONS,
    (Filter("event_key", "=="),), ("committed_at", "commit_seq"), group=True,
)
INTERACTIONS_OF_PARTICIPANT = NamedQuery(
    "a participant's interactions", "privacy (listener participants)", INTERACTIONS,
    (Filter("participant", "=="),), ("committed_at", "commit_seq"), group=True,
)
INTERACTIONS_OF_PARTICIPANT_IN_EVENT = NamedQuery(
    "a participant's interactions in one event", "exports of one participant", INTERACTIONS,
    (Filter("event_key", "=="), Filter("participant", "==")), ("committed_at", "commit_seq"), group=True,
)
INTERACTION_BY_ID = NamedQuery(
    "an interaction by its ID", "transcripts filled in later", INTERACTIONS, (Filter("id", "=="),), group=True,
)
PARTICIPANTS_INTERACTIONS = NamedQuery(
    "every interaction of a participant, to forget", "forgetting a participant", INTERACTIONS,
    (Filter("participant", "=="),), group=True,
)
PARTICIPANTS_INBOX = NamedQuery(
    "a participant's inbox items", "forgetting a participant", INBOX, (Filter("participant", "=="),),
)
PARTICIPANTS_REPLIES = NamedQuery(
    "a participant's replies", "forgetting a participant", OUTBOX, (Filter("participant", "=="),),
)
BLOCKS = NamedQuery("the blocklist", "the webhook's blocklist", BLOCKED)
SNAPSHOTS_ALL = NamedQuery("every participant", "stats, the console", SNAPSHOTS, (), (DOCUMENT_ID,))
PROFILES = NamedQuery("an event's profiles", "exports, the console", EVENT, (), (DOCUMENT_ID,))

QUERIES: tuple[NamedQuery, ...] = (
    PENDING_INBOX, PENDING_REPLIES, LAPSED_CLAIMS, REPLIES_FOR, REPLY_BY_PROVIDER_SID, REPLIES,
    REPLIES_SENT_SINCE, INTERACTIONS_ALL, INTERACTIONS_OF_EVENT, INTERACTIONS_OF_PARTICIPANT,
    INTERACTIONS_OF_PARTICIPANT_IN_EVENT, INTERACTION_BY_ID, PARTICIPANTS_INTERACTIONS, PARTICIPANTS_INBOX,
    PARTICIPANTS_REPLIES, BLOCKS, SNAPSHOTS_ALL, PROFILES,
)
