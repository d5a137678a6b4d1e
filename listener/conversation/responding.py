"""What an acknowledgement may look like when it reaches a participant.

While listening, the step owes a reply: the graph's template, which the composer may
replace with a model-written one after the commit. Whatever wrote it, a reply is at most
two plain sentences: no links, no markup, no JSON. A model's text that cannot be made so
is not sent; the template goes instead.
"""

from __future__ import annotations

import html
import re

MAX_SENTENCES = 2
MAX_CHARACTERS = 320
SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+")
LINK = re.compile(
    r"[a-z][a-z0-9+.-]*://|\bwww\.|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|io|co|info|biz|ly|me|app|dev|xyz"
    r"|example|gov|edu|uk|ke|tw|es|fr|br|de|us|ca|mx|ai|link|click|site|online|top)\b(?:/\S*)?"
    r"|\b[\w.+-]+@[\w-]+\.[\w.-]+",
    re.IGNORECASE,
)
DATA = re.compile(r"^\s*[\[{]|```|\"\s*:\s*[\"{\[\d]")
TAG = re.compile(r"</?[a-z][^>]*>", re.IGNORECASE)
MARKDOWN_LINE = re.compile(r"^\s*(?:#{1,6}\s+|>\s*|[-*+•]\s+|\d+[.)]\s+)", re.MULTILINE)
MARKDOWN_EMPHASIS = re.compile(r"(\*{1,3}|_{2,3}|~~|`+)")
UNDERSCORED = re.compile(r"(?<!\w)_(\S(?:[^_]*\S)?)_(?!\w)")


def enforce_brevity(text: str) -> str:
    """At most two sentences and a few hundred characters, cut at a word boundary."""
    sentences = SENTENCE_END.split(text.strip())
    short = " ".join(sentences[:MAX_SENTENCES]).strip()
    if len(short) > MAX_CHARACTERS:
        short = short[:MAX_CHARACTERS].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return short


def plain_reply(text: str) -> str | None:
    """A written reply as at most two plain sentences, or None when it carries a link or
    data (JSON, code): such a text is not a reply, whatever it says."""
    if LINK.search(text) or DATA.search(text):
        return None
    plain = html.unescape(TAG.sub(" ", text))
    plain = MARKDOWN_LINE.sub("", plain)
    plain = MARKDOWN_EMPHASIS.sub("", plain)
    plain = UNDERSCORED.sub(r"\1", plain)
    plain = re.sub(r"\s+([.,!?;:])", r"\1", re.sub(r"\s+", " ", plain)).strip()
    if LINK.search(plain) or not any(ch.isalnum() for ch in plain):
        return None
    return enforce_brevity(plain) or None
