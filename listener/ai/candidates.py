"""Narrow the known event IDs to the few a message could mean, before asking the model.

A deployment may run hundreds of events; sending every ID with every message would cost
tokens, leak other events' names and invite the model to pick any of them. The rules
already take exact and near-exact matches; what is left goes to the model only as the
few IDs that look like some word of the message (a prefix, a word of the ID, a loose
spelling), best first.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Sequence

from listener.ai.rules import TOKEN

MAX_CANDIDATES = 5
LOOSE_SIMILARITY = 0.6
MIN_PART = 3
PART_MATCH = 0.8  # a word that starts the ID or is one of its parts; a close spelling may rank higher


def _squash(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.casefold())


def _words(text: str) -> list[str]:
    tokens = [_squash(token) for token in TOKEN.findall(unicodedata.normalize("NFKC", text))]
    tokens = [token for token in tokens if token]
    joined = [first + second for first, second in zip(tokens, tokens[1:])]
    return tokens + joined


def _score(words: Sequence[str], known: str) -> float:
    key = _squash(known)
    parts = [_squash(part) for part in re.split(r"[-_]|(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])", known.casefold())]
    best = 0.0
    for word in words:
        if len(word) >= MIN_PART and (key.startswith(word) or word in parts):
            best = max(best, PART_MATCH)
        best = max(best, difflib.SequenceMatcher(None, word, key).ratio())
    return best


def event_candidates(text: str, known_ids: Sequence[str], limit: int = MAX_CANDIDATES) -> list[str]:
    """At most `limit` known IDs that resemble a word of the text, most similar first."""
    words = _words(text)
    if not words:
        return []
    scored = [(_score(words, known), known) for known in known_ids]
    ranked = sorted((item for item in scored if item[0] >= LOOSE_SIMILARITY), key=lambda item: -item[0])
    return [known for _, known in ranked[:limit]]
