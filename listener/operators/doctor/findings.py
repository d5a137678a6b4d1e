"""What a check found, and what the exit status of `listener doctor` makes of it all."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from pydantic import BaseModel

# `listener doctor`'s exit statuses; 2 stays the command line's "bad input".
READY = 0
BLOCKED = 1
READY_WITH_WARNINGS = 3


class Verdict(StrEnum):
    OK = "ok"
    SKIPPED = "skipped"  # not configured, by choice: the event goes ahead without it
    WARNING = "warning"  # the event can go ahead; something may not work as meant
    BLOCKER = "blocker"  # the event cannot go ahead until this is fixed


class Finding(BaseModel):
    """One check's result. `action` says what to do; it is set for warnings and blockers."""

    check: str
    verdict: Verdict
    found: str
    action: str | None = None

    @classmethod
    def ok(cls, check: str, found: str) -> Finding:
        return cls(check=check, verdict=Verdict.OK, found=found)

    @classmethod
    def skipped(cls, check: str, found: str) -> Finding:
        return cls(check=check, verdict=Verdict.SKIPPED, found=found)

    @classmethod
    def warning(cls, check: str, found: str, action: str) -> Finding:
        return cls(check=check, verdict=Verdict.WARNING, found=found, action=action)

    @classmethod
    def blocker(cls, check: str, found: str, action: str) -> Finding:
        return cls(check=check, verdict=Verdict.BLOCKER, found=found, action=action)


def exit_status(findings: Iterable[Finding]) -> int:
    """0 when the event can go ahead, 1 when something blocks it, 3 for warnings only."""
    verdicts = {finding.verdict for finding in findings}
    if Verdict.BLOCKER in verdicts:
        return BLOCKED
    if Verdict.WARNING in verdicts:
        return READY_WITH_WARNINGS
    return READY
