"""`listener flow check` / `listener flow graph`: validate and draw transitions.yaml."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from listener.cli.common import CommandError
from listener.config import Settings
from listener.conversation.flow import Flow
from listener.diagram.mermaid import mermaid
from listener.operators.eventfile import EventFileError, load_event_file
from listener.diagram.model import drawing
from listener.diagram.readme import write_readme
from listener.diagram.svg import render


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("flow", help="check or draw the conversation graph")
    commands = parser.add_subparsers(dest="flow_command", metavar="ACTION", required=True)
    check = commands.add_parser("check", help="validate the graph as the server does at start")
    check.add_argument("file", nargs="?", help="graph file (default: FLOW_FILE or transitions.yaml)")
    check.add_argument("--event", metavar="FILE", action="append", default=[],
                       help="an event file: report each text missing in a language it lists, with its line (repeatable)")
    check.set_defaults(handler=check_flow)
    graph = commands.add_parser("graph", help="print the flow diagram")
    graph.add_argument("file", nargs="?", help="graph file (default: FLOW_FILE or transitions.yaml)")
    graph.add_argument("--format", choices=["mermaid", "svg"], default="mermaid",
                       help="Mermaid flowchart text, or the SVG picture the README and the console show")
    graph.add_argument("--write", metavar="MARKDOWN", type=Path,
                       help="write the SVG picture to docs/flow.svg beside this Markdown file (e.g. README.md) "
                            "and point its diagram block at it, instead of printing")
    graph.set_defaults(handler=draw_flow)


def _load(args: argparse.Namespace) -> Flow:
    return Flow.from_file(args.file or Settings().flow_file)


def check_flow(args: argparse.Namespace) -> int:
    """The graph as the server checks it; then, for each event file given, every text the
    flow lacks in a language the event lists (exit 1 when any)."""
    flow = _load(args)
    graph = flow.graph
    print(
        f"{graph.source}: ok: {len(graph.states)} states, "
        f"{len(flow.spec.transitions)} transitions, {len(flow.spec.inbound.triggers())} triggers; "
        f"speaks {', '.join(flow.languages)}"
    )
    for tag, gaps in graph.missing.items():
        if gaps:
            print(f"{graph.source}: {tag} is declared but not spoken: {len(gaps)} texts have no {tag} "
                  f"(first: line {gaps[0].line}, {gaps[0].key})")
    problems = []
    for path in args.event:
        try:
            event = load_event_file(path, list(graph.questions)).event
        except EventFileError as exc:
            raise CommandError(str(exc), exit_code=2) from exc
        problems += [f"{problem} (event {event.event_id} in {path} lists it)"
                     for problem in graph.language_problems(event.languages)]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


def draw_flow(args: argparse.Namespace) -> int:
    graph = _load(args).graph
    picture = drawing(graph)
    if args.write is None:
        print(render(picture) if args.format == "svg" else mermaid(picture), end="")
        return 0
    try:
        written = write_readme(args.write, picture.file, render(picture))
    except OSError as exc:
        raise CommandError(f"{args.write}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise CommandError(f"{args.write}: {exc}", exit_code=2) from exc
    print(f"{args.write}: diagram written ({written})")
    return 0
