"""The golden table of answers (tests/golden/answers.yaml): loading it, reading each case
with the offline rules, and the pass rates by question type and by language.

Shared by tests/test_extraction_golden.py and bench/golden.py, so the figure the test
asserts and the one the bench prints are the same computation.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from harness import shipped_questions
from pydantic import TypeAdapter

from listener.ai.rules import RuleExtractor
from listener.conversation.extraction import Choice, Extraction
from listener.conversation.questions import Question, TextQuestion

TABLE = Path(__file__).parent / "golden" / "answers.yaml"
NOT_UNDERSTOOD = "not understood"
DECLINED = "declined"
EVENT_QUESTIONS = ("event_id", "event_choice")


@dataclass(frozen=True)
class Case:
    q: str
    lang: str
    text: str
    gives: Any
    model: dict | None = None

    @property
    def expected(self) -> Extraction:
        if self.gives == NOT_UNDERSTOOD:
            return Extraction.not_found()
        if self.gives == DECLINED:
            return Extraction.declined()
        return Extraction.found(self.gives)

    @property
    def label(self) -> str:
        return f"{self.q}/{self.lang}: {self.text}"


@dataclass(frozen=True)
class Golden:
    questions: dict[str, Question]
    known_ids: list[str]
    offered: list[Choice]
    cases: list[Case]

    def kind(self, case: Case) -> str:
        """The reader a case exercises: `text:name`, `number`, `choice`, `event_choice`…"""
        if case.q in EVENT_QUESTIONS:
            return case.q
        question = self.questions[case.q]
        return f"text:{question.shape}" if isinstance(question, TextQuestion) else question.type


def load(path: Path = TABLE) -> Golden:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    declared = TypeAdapter(list[Question]).validate_python(data["questions"])
    return Golden(
        questions={**shipped_questions(), **{question.key: question for question in declared}},
        known_ids=data["known_ids"],
        offered=[Choice.model_validate(option) for option in data["offered"]],
        cases=[Case(**case) for case in data["cases"]],
    )


def read(golden: Golden, reader: Any, case: Case) -> Extraction:
    """The case read by `reader`: the rules' `answer` for a question, else the event readers."""
    if case.q == "event_id":
        return reader.event_id(case.text, golden.known_ids)
    if case.q == "event_choice":
        return reader.choice(case.text, golden.offered)
    return reader.answer(golden.questions[case.q], case.text)


def passes(result: Extraction, case: Case) -> bool:
    expected = case.expected
    return result.status == expected.status and result.value == expected.value


@dataclass
class Score:
    """Cases read right, of how many, by question type and by language; the misses."""

    passed: int = 0
    total: int = 0
    by_kind: dict[str, list[int]] | None = None
    by_lang: dict[str, list[int]] | None = None
    misses: list[tuple[Case, Extraction]] | None = None

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 0.0


def score_rules(golden: Golden, rules: RuleExtractor | None = None) -> Score:
    rules = rules or RuleExtractor()
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_lang: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    score = Score(by_kind=by_kind, by_lang=by_lang, misses=[])
    for case in golden.cases:
        result = read(golden, rules, case)
        ok = passes(result, case)
        score.total += 1
        score.passed += ok
        for table, key in ((by_kind, golden.kind(case)), (by_lang, case.lang)):
            table[key][0] += ok
            table[key][1] += 1
        if not ok:
            score.misses.append((case, result))
    return score


def report(score: Score) -> str:
    """The pass rates as lines a person reads: overall, by type, by language, then the misses."""
    lines = [f"rules: {score.passed}/{score.total} = {score.rate:.1%} of the golden answers"]
    for title, table in (("by question type", score.by_kind or {}), ("by language", score.by_lang or {})):
        lines.append(f"  {title}:")
        for key, (passed, total) in sorted(table.items()):
            lines.append(f"    {key:<14} {passed:>4}/{total:<4} {passed / total:6.1%}")
    for case, result in score.misses or []:
        got = result.value if result.ok else result.status
        lines.append(f"  miss  {case.label!r}: wanted {case.gives!r}, read {got!r}")
    return "\n".join(lines)
