"""The store's own Firestore write encoding says exactly what the client library would.

`listener.store.firestore_writes` builds `Write` messages on the protobuf runtime instead
of the library's proto-plus encoding. Every document here, drawn at random (JSON-shaped
values, odd field names, sentinels at the top and nested, dotted update paths), must give
the very message the library's own `WriteBatch` builds, or the same error.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from google.api_core.datetime_helpers import DatetimeWithNanoseconds
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore
from google.cloud.firestore_v1 import transforms
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from listener.store import firestore_writes
from listener.store.firestore_writes import write

CLIENT = firestore.Client(project="encoding-test", credentials=AnonymousCredentials())
REFERENCE = CLIENT.collection("things").document("one")
WHEN = DatetimeWithNanoseconds(2026, 12, 2, 17, 30, 1, nanosecond=123456789, tzinfo=timezone.utc)

names = st.one_of(
    st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True),
    st.text(min_size=0, max_size=6),
    st.sampled_from(["a.b", "`q`", "x y", "back\\slash", "tick`", "émoji🙂", "m0123abcd"]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.integers(min_value=2**63, max_value=2**64),  # refused by both
    st.floats(allow_nan=False),
    st.text(max_size=12),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner, inner),
        st.dictionaries(names, inner, max_size=3),
    ),
    max_leaves=10,
)
sentinels = st.one_of(
    st.just(firestore.SERVER_TIMESTAMP),
    st.just(firestore.DELETE_FIELD),
    st.builds(transforms.Increment, st.one_of(st.integers(-5, 5), st.floats(-2, 2))),
    st.builds(transforms.ArrayUnion, st.lists(scalars, min_size=1, max_size=2)),
    st.builds(transforms.Maximum, st.integers(0, 3)),
)
nested_with_sentinel = st.dictionaries(names, st.one_of(values, sentinels), min_size=1, max_size=2)
top_values = st.one_of(values, values, values, sentinels, nested_with_sentinel)
documents = st.dictionaries(names, top_values, max_size=6)
update_keys = st.one_of(names, st.sampled_from(["a.b", "a.c", "a", "waiting.m1", "waiting.m2", "`x.y`.z", "t.`u v`"]))
updates = st.dictionaries(update_keys, top_values, max_size=6)


def library_write(kind: str, data: dict, merge: bool, last_update_time: datetime | None):
    batch = CLIENT.batch()
    if kind == "create":
        batch.create(REFERENCE, data)
    elif kind == "set":
        batch.set(REFERENCE, data, merge=merge)
    else:
        option = CLIENT.write_option(last_update_time=last_update_time) if last_update_time else None
        batch.update(REFERENCE, data, option=option)
    return batch._write_pbs[0]._pb


def assert_same(kind: str, data: dict, merge: bool = False, last_update_time: datetime | None = None) -> None:
    """Ours and the library's: the same message, or the same kind of error."""
    try:
        expected = library_write(kind, data, merge, last_update_time)
    except (ValueError, TypeError) as error:
        with pytest.raises(type(error)):
            write(kind, REFERENCE._document_path, data, merge=merge, last_update_time=last_update_time)
        return
    ours = write(kind, REFERENCE._document_path, data, merge=merge, last_update_time=last_update_time)._pb
    assert ours == expected, f"{kind} {data!r}:\nours {ours}\nlibrary {expected}"
    assert ours.SerializeToString(deterministic=True) == expected.SerializeToString(deterministic=True)


FAST = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(documents)
def test_create_is_the_librarys(data: dict) -> None:
    assert_same("create", data)


@FAST
@given(documents, st.booleans())
def test_set_is_the_librarys(data: dict, merge: bool) -> None:
    assert_same("set", data, merge=merge)


@FAST
@given(updates, st.sampled_from([None, WHEN, datetime(2026, 12, 2, 17, 30, 1, 5, tzinfo=timezone.utc)]))
def test_update_is_the_librarys(data: dict, last_update_time: datetime | None) -> None:
    assert_same("update", data, last_update_time=last_update_time)


def test_the_stores_own_documents() -> None:
    """The shapes the store writes, by hand: each must take the fast path and match."""
    snapshot = {"participant": "+15550000001", "state": "listening", "version": 7, "events": {"E1": {"name": "Ana",
                "answers": {}, "joined_at": "2026-12-02T10:00:00+00:00"}}, "recent_message_sids": ["SM1", "SM2"],
                "waiting.m0123abcd": firestore.DELETE_FIELD, "turn": firestore.DELETE_FIELD, "score": 1.5, "flag": None}
    assert_same("update", snapshot, last_update_time=WHEN)
    assert_same("create", {"text": "hi", "committed_at": firestore.SERVER_TIMESTAMP, "commit_seq": 7001})
    assert_same("set", {"waiting": {"m1": {"message_sid": "SM1", "recorded_by": None}}}, merge=True)
    assert_same("update", {"status": "sent", "attempts": transforms.Increment(1), "sent_at": "2026-12-02"})
    assert_same("set", {"status": "done", "message_sid": "SM1"}, merge=True)
    for kind, data, merge in [("update", snapshot, False), ("set", {"waiting": {"m1": {"at": "t"}}}, True),
                              ("create", {"committed_at": firestore.SERVER_TIMESTAMP, "n": [1, {"a": None}]}, False)]:
        firestore_writes._fast(kind, REFERENCE._document_path, data, merge, WHEN)  # no fallback
