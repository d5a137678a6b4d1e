"""Language identification on short messages: which library, how accurate, how costly.

Reads tests/golden/languages.yaml (at least 50 short messages per language the flow
ships, and short or ambiguous messages that must show no language) and runs each
candidate through the same rule the agent uses (`LangidIdentifier`: enough words, then a
confident detector), restricted to the flow's languages:

  py3langid                the langid.py model (`LangidIdentifier`), the chosen one
  lingua (high accuracy)   lingua-language-detector, restricted to the same languages
  lingua (low accuracy)    the same with trigram models only (less memory)

each in a fresh process (its memory its own), in the same run.

Prints, per candidate: accuracy per language (right / all; "none" is a message that
showed no language, never a wrong one), wrong languages, the share of never-switch
messages that showed none, the time to build, memory added, and the median time per
message. Run: `python bench/language_id.py`.
"""

from __future__ import annotations

import gc
import multiprocessing
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from listener.ai.language_id import LangidIdentifier, readable_words  # noqa: E402
from listener.conversation.graph import load_graph  # noqa: E402

TABLE = ROOT / "tests" / "golden" / "languages.yaml"


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class LinguaIdentifier(LangidIdentifier):
    """The same rule with lingua-language-detector deciding (restricted to the flow's
    languages; `low` uses its trigram models only)."""

    def __init__(self, tags: list[str], low: bool = False) -> None:
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

        super().__init__([])
        self.by_language = {Language.from_iso_code_639_1(getattr(IsoCode639_1, tag.split("-")[0].upper())): tag
                            for tag in tags}
        builder = LanguageDetectorBuilder.from_languages(*self.by_language)
        self.detector = (builder.with_low_accuracy_mode() if low else builder).with_preloaded_language_models().build()
        self.model = True  # type: ignore[assignment]

    def identify(self, text: str) -> str | None:
        words = readable_words(text)
        if not self.long_enough(words):
            return None
        confidences = self.detector.compute_language_confidence_values(words.lower())
        if not confidences or confidences[0].value < self.min_confidence:
            return None
        return self.by_language.get(confidences[0].language)


def measure(name: str, build: Callable[[], object], table: dict) -> dict:
    gc.collect()
    before = rss_mib()
    started = time.perf_counter()
    identifier = build()
    built = time.perf_counter() - started
    identifier.identify("warm up the models with a first sentence")  # type: ignore[attr-defined]
    added = rss_mib() - before
    per_language: dict[str, tuple[int, int, int, int]] = {}
    timings: list[float] = []
    for tag, messages in table["messages"].items():
        right = none = wrong = 0
        for text in messages:
            started = time.perf_counter()
            shown = identifier.identify(text)  # type: ignore[attr-defined]
            timings.append(time.perf_counter() - started)
            right += shown == tag
            none += shown is None
            wrong += shown is not None and shown != tag
        per_language[tag] = (right, none, wrong, len(messages))
    switched = [text for text in table["never_switch"] if identifier.identify(text) is not None]  # type: ignore[attr-defined]
    return {"name": name, "built": built, "added": added, "per_language": per_language,
            "never": (len(table["never_switch"]) - len(switched), len(table["never_switch"]), switched),
            "median_us": statistics.median(timings) * 1e6}


CANDIDATES: dict[str, Callable[[list[str]], object]] = {
    "py3langid (chosen)": LangidIdentifier,
    "lingua (high accuracy)": LinguaIdentifier,
    "lingua (low accuracy)": lambda tags: LinguaIdentifier(tags, low=True),
}


def measure_alone(name: str) -> dict:
    """One candidate in this (fresh) process, so its memory is its own."""
    table = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
    tags = list(load_graph(ROOT / "transitions.yaml").spec.languages)
    return measure(name, lambda: CANDIDATES[name](tags), table)


def main() -> None:
    table = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
    print(f"{TABLE.relative_to(ROOT)}: {sum(map(len, table['messages'].values()))} messages in "
          f"{len(table['messages'])} languages, {len(table['never_switch'])} that must show none")
    spawn = multiprocessing.get_context("spawn")
    for name in CANDIDATES:
        with spawn.Pool(1) as pool:
            result = pool.apply(measure_alone, (name,))
        total = [sum(values) for values in zip(*result["per_language"].values())]
        print(f"\n{name}: built in {result['built']:.2f} s, +{result['added']:.0f} MiB resident, "
              f"median {result['median_us']:.0f} µs a message")
        for tag, (right, none, wrong, count) in result["per_language"].items():
            print(f"  {tag:<8} right {right:>3}/{count:<3} {right / count:6.1%}   none {none:>2}   wrong {wrong:>2}")
        print(f"  {'all':<8} right {total[0]:>3}/{total[3]:<3} {total[0] / total[3]:6.1%}   none {total[1]:>2}"
              f"   wrong {total[2]:>2} ({total[2] / total[3]:.1%})")
        kept, count, switched = result["never"]
        print(f"  never-switch messages that showed no language: {kept}/{count} = {kept / count:.1%}"
              + (f" (showed one: {', '.join(switched)})" if switched else ""))


if __name__ == "__main__":
    main()
