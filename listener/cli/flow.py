"""`listener flow check` / `listener flow graph`: validate and draw transitions.yaml."""

from __future__ import annotations

import argparse
from pathlib import Path

from listener.cli.common import CommandError
from listener.config import Settings
from listener.conversation.flow import Flow
from listener.diagram.mermaid import mermaid
from listener.diagram.model import drawing
from listener.diagram.readme import write_readme
from listener.diagram.svg import render


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("flow", help="check or draw the conversation graph")
    commands = parser.add_subparsers(dest="flow_command", metavar="ACTION", required=True)
    check = commands.add_parser("check", help="validate the graph as the server does at start")
    check.add_argument("file", nargs="?", help="graph file (default: FLOW_FILE or transitions.yaml)")
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
    flow = _load(args)
    print(
        f"{flow.graph.source}: ok: {len(flow.graph.states)} states, "
        f"{len(flow.spec.transitions)} transitions, {len(flow.spec.inbound.triggers())} triggers"
    )
    return 0


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
