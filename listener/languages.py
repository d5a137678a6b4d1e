"""Language tags and texts written in several languages.

An event lists the languages it runs in (`languages: [es, en]`, BCP 47 tags, the first its
default); the flow file says which languages it ships and carries every text in each. A
tag is kept in its canonical case (`es`, `pt-BR`, `zh-Hant`), so `ZH-hant` in an event
file and `zh-Hant` in the flow are one language.

A text may be written as one string or list (English, so a flow that speaks only English
stays as simple as it was) or as a map of language tag to string or list.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

ENGLISH = "en"
"""The language of a text written as a plain string."""

TAG = re.compile(
    r"^(?P<language>[A-Za-z]{2,3})(?:-(?P<script>[A-Za-z]{4}))?(?:-(?P<region>[A-Za-z]{2}|[0-9]{3}))?$"
)


def canonical_tag(tag: str) -> str:
    """The tag in BCP 47's canonical case (`zh-hant` -> `zh-Hant`, `PT-br` -> `pt-BR`);
    ValueError for what is not a language[-Script][-REGION] tag."""
    match = TAG.match(str(tag).strip().replace("_", "-"))
    if not match:
        raise ValueError(
            f"{tag!r} is not a BCP 47 language tag (two or three letters, then optionally a script "
            "and a region: en, es, pt-BR, zh-Hant)"
        )
    parts = [match["language"].lower()]
    if match["script"]:
        parts.append(match["script"].title())
    if match["region"]:
        parts.append(match["region"].upper())
    return "-".join(parts)


def folded_name(name: str) -> str:
    """A language's name as compared: "Español", "espanol" and "ESPAÑOL" are one name."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", name).casefold())
    return " ".join("".join(ch for ch in decomposed if not unicodedata.combining(ch)).split())


def primary(tag: str) -> str:
    """The language subtag alone: `zh-Hant` -> `zh`."""
    return tag.split("-", 1)[0]


def _tag_list(tags: Any) -> Any:
    if not isinstance(tags, list):
        return tags
    canonical = [canonical_tag(tag) for tag in tags]
    repeated = sorted({tag for tag in canonical if canonical.count(tag) > 1})
    if repeated:
        raise ValueError(f"{', '.join(repeated)} listed twice")
    return canonical


LanguageTag = Annotated[str, AfterValidator(canonical_tag)]
LanguageTags = Annotated[list[str], BeforeValidator(_tag_list)]
"""A list of distinct tags, canonical case, in the order given."""


def as_localized(value: Any, language: str = ENGLISH) -> Any:
    """A text as a map of language to text: a plain string or list is `language`'s (English)."""
    if isinstance(value, (str, list, tuple)):
        return {language: value}
    if isinstance(value, Mapping):
        return {canonical_tag(str(tag)): text for tag, text in value.items()}
    return value
