"""How well the offline rules read the golden table of answers (tests/golden/answers.yaml).

Prints the pass rate overall, by question type (text shaped as a name, a place or
anything; number; choice; yes/no; the event readers) and by language, the answers the
rules miss, and what reading an answer costs (the median over the table, after the
number tables are built once).

    python bench/golden.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from figures import machine_line  # noqa: E402
from golden_support import load, read, report, score_rules  # noqa: E402

from listener.ai.numbers import word_tables  # noqa: E402
from listener.ai.rules import RuleExtractor  # noqa: E402


def main() -> None:
    print(machine_line())
    golden = load()
    started = time.perf_counter()
    word_tables()
    print(f"number tables built in {(time.perf_counter() - started) * 1000:.0f} ms (once per process)")
    rules = RuleExtractor()
    print(report(score_rules(golden, rules)))
    timings = []
    for case in golden.cases:
        started = time.perf_counter()
        read(golden, rules, case)
        timings.append(time.perf_counter() - started)
    print(
        f"reading one answer: median {statistics.median(timings) * 1e6:.0f} µs, "
        f"slowest {max(timings) * 1e6:.0f} µs over {len(timings)} answers"
    )


if __name__ == "__main__":
    main()
