"""`listener doctor`: can the event go ahead? Checks settings, flow, store, Twilio, OpenAI
and the public address, and says in plain words what to do about each problem.

Exit status: 0 the event can go ahead, 1 something blocks it, 3 it can go ahead but read
the warnings (2 stays "bad input", as for every command).
"""

from __future__ import annotations

import argparse
import json
import textwrap

from listener.operators.doctor import Finding, Verdict, exit_status, run_doctor
from listener.operators.doctor.findings import BLOCKED, READY
from listener.operators.doctor.run import DEFAULT_TIMEOUT_SECONDS

LABELS = {Verdict.OK: "ok", Verdict.SKIPPED: "skipped", Verdict.WARNING: "WARNING", Verdict.BLOCKER: "BLOCKER"}
CHECK_WIDTH = 26
INDENT = " " * (9 + CHECK_WIDTH)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "doctor", help="before an event: check settings, flow, store, Twilio, OpenAI and the public address"
    )
    parser.add_argument("--event", metavar="ID", help="also check that this event exists and is open")
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help=f"deadline of each call to another service (default {DEFAULT_TIMEOUT_SECONDS:g})",
    )
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    parser.set_defaults(handler=doctor)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 300:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds between 0 and 300")
    return value


def doctor(args: argparse.Namespace) -> int:
    findings = run_doctor(timeout=args.timeout, event_id=args.event)
    status = exit_status(findings)
    if args.json:
        print(json.dumps({"findings": [f.model_dump(mode="json") for f in findings], "exit_status": status}, indent=2))
    else:
        print(render(findings, status))
    return status


def render(findings: list[Finding], status: int) -> str:
    lines = []
    for finding in findings:
        label = LABELS[finding.verdict]
        lines.append(_wrap(f"{label:<8} {finding.check:<{CHECK_WIDTH}}", finding.found))
        if finding.action:
            lines.append(_wrap(INDENT, f"what to do: {finding.action}"))
    if status == READY:
        lines.append("The event can go ahead.")
    elif status == BLOCKED:
        lines.append("The event cannot go ahead: fix the BLOCKER lines above, then run `listener doctor` again.")
    else:
        lines.append("The event can go ahead; read the WARNING lines above.")
    return "\n".join(lines)


def _wrap(head: str, text: str) -> str:
    return textwrap.fill(
        text,
        width=110,
        initial_indent=head.ljust(len(INDENT)),
        subsequent_indent=INDENT,
        break_long_words=False,
        break_on_hyphens=False,
    )
