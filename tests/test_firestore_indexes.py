"""Indexes as code: every query the Firestore store issues is in one table
(`listener/store/firestore_queries.py`), the store builds its queries from nothing else,
and `firestore.indexes.json` declares an index for each query that needs one. Real
Firestore refuses a query without its index and the emulator does not, so without these
tests a new query would fail only in production, on first use."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from harness import ROOT

from listener.store import firestore_queries as q
from listener.store.firestore_queries import Filter, NamedQuery, needed_index, needed_indexes

STORE_SOURCE = ROOT / "listener" / "store" / "firestore.py"
INDEXES = json.loads((ROOT / "firestore.indexes.json").read_text())
BUILDER = "_query"
QUERY_METHODS = {"where", "order_by", "collection_group", "start_at", "end_before", "end_at", "offset"}


@pytest.mark.parametrize("query", q.QUERIES, ids=lambda query: query.name)
def test_every_query_of_the_store_has_its_index_declared(query):
    missing = [index.describe() for index in needed_indexes(query) if not index.covered_by(INDEXES)]
    assert not missing, f"{query.name} ({query.purpose}) needs, in firestore.indexes.json: {missing}"


def _functions(tree: ast.AST) -> dict[ast.AST, str]:
    """Each node of the module, with the name of the function it is in."""
    owner: dict[ast.AST, str] = {}
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef):
            for node in ast.walk(function):
                owner.setdefault(node, function.name)
    return owner


def test_the_store_builds_its_queries_only_from_the_table():
    tree = ast.parse(STORE_SOURCE.read_text())
    owner = _functions(tree)
    outside = [
        f"line {node.lineno}: .{node.func.attr}() in {owner.get(node, 'the module')}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        and node.func.attr in QUERY_METHODS and owner.get(node) != BUILDER
    ]
    streamed_collections = [
        f"line {node.lineno}: a collection streamed whole, not a query of the table"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "stream"
        and isinstance(node.func.value, ast.Call) and isinstance(node.func.value.func, ast.Attribute)
        and node.func.value.func.attr == "collection"
    ]
    assert not outside + streamed_collections


def test_every_query_of_the_table_is_one_the_store_issues():
    tree = ast.parse(STORE_SOURCE.read_text())
    named = {name for name, value in vars(q).items() if isinstance(value, NamedQuery)}
    used = {node.attr for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "q"} & set(vars(q))
    used = {name for name in used if isinstance(getattr(q, name), NamedQuery)}
    assert named == used, f"in the table but never issued: {named - used}; issued but not a query: {used - named}"
    assert len(set(q.QUERIES)) == len(q.QUERIES) == len(named), "QUERIES lists every named query once"


# Firestore's rules, as the table applies them ----------------------------------------------

def query(*filters: tuple[str, str], order: tuple[str, ...] = (), group: bool = False) -> NamedQuery:
    return NamedQuery("q", "test", "things", tuple(Filter(*f) for f in filters), order, group)


def test_equality_alone_on_a_collection_needs_no_index_and_on_a_group_an_override_per_field():
    assert needed_indexes(query(("a", "=="), ("b", "in"))) == []
    overrides = needed_indexes(query(("a", "=="), ("b", "=="), group=True))
    assert [(index.fields, index.override) for index in overrides] == [(("a",), True), (("b",), True)]


def test_a_range_on_one_field_ordered_by_it_needs_no_composite():
    assert needed_index(query(("a", "<"), order=("a",))) is None
    assert needed_index(query(("a", "<"))) is None
    assert needed_index(query(order=("a",))) is None
    assert needed_index(query(("a", "=="), order=(q.DOCUMENT_ID,))) is None


def test_equality_with_a_range_or_an_order_elsewhere_needs_a_composite_equality_first():
    assert needed_index(query(("a", "=="), ("b", ">="), order=("b",))).fields == ("a", "b")
    assert needed_index(query(("a", "=="), order=("b", "c"))).fields == ("a", "b", "c")
    assert needed_index(query(("a", "<"), order=("b",))).fields == ("a", "b")
    assert needed_index(query(order=("b", "c"), group=True)).scope == "COLLECTION_GROUP"
    with pytest.raises(ValueError):
        needed_index(query(("a", "<"), ("b", ">")))


def test_a_declared_index_covers_a_query_only_with_the_right_fields_order_and_scope():
    needed = needed_index(query(("a", "=="), ("b", "=="), order=("c",)))
    composite = {"collectionGroup": "things", "queryScope": "COLLECTION", "fields": [
        {"fieldPath": "b", "order": "ASCENDING"}, {"fieldPath": "a", "order": "ASCENDING"},
        {"fieldPath": "c", "order": "ASCENDING"}]}
    assert needed.covered_by({"indexes": [composite]}), "equality fields in any order"
    reordered = {**composite, "fields": [composite["fields"][2], *composite["fields"][:2]]}
    assert not needed.covered_by({"indexes": [reordered]})
    assert not needed.covered_by({"indexes": [{**composite, "queryScope": "COLLECTION_GROUP"}]})
    assert not needed.covered_by({"indexes": [{**composite, "collectionGroup": "others"}]})
    override = needed_indexes(query(("a", "=="), group=True))[0]
    assert not override.covered_by({"indexes": [composite]})
    assert override.covered_by({"fieldOverrides": [{"collectionGroup": "things", "fieldPath": "a", "indexes": [
        {"order": "ASCENDING", "queryScope": "COLLECTION_GROUP"}]}]})


def test_every_query_of_the_table_runs(firestore_store):
    """Built as the store builds them, with values that match nothing (what the doctor runs)."""
    for named in q.QUERIES:
        firestore_store.probe(named)


def test_the_indexes_file_declares_nothing_no_query_needs():
    """An index nobody uses costs a write per document written: none is left over."""
    needed = [index for named in q.QUERIES for index in needed_indexes(named)]
    for declared in INDEXES["indexes"]:
        assert any(index.covered_by({"indexes": [declared]}) for index in needed), declared
    for override in INDEXES["fieldOverrides"]:
        assert any(index.covered_by({"fieldOverrides": [override]}) for index in needed), override
    assert Path(ROOT / "firebase.json").exists(), "firebase deploy --only firestore:indexes reads firebase.json"
