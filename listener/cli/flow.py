"""`listener flow check` / `listener flow graph`: validate and draw transitions.yaml."""

from __future__ import annotations

import argparse

from listener.config import Settings
from listener.conversation.diagram import mermaid
from listener.conversation.flow import Flow


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("flow", help="check or draw the conversation graph")
    commands = parser.add_subparsers(dest="flow_command", metavar="ACTION", required=True)
    check = commands.add_parser("check", help="validate the graph as the server does at start")
    check.add_argument("file", nargs="?", help="graph file (default: FLOW_FILE or transitions.yaml)")
    check.set_defaults(handler=check_flow)
    graph = commands.add_parser("graph", help="print the state diagram")
    graph.add_argument("file", nargs="?", help="graph file (default: FLOW_FILE or transitions.yaml)")
    graph.add_argument("--format", choices=["mermaid"], default="mermaid")
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
    print(mermaid(_load(args).graph), end="")
    return 0
