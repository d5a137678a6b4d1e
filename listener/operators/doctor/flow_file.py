"""The conversation graph: loaded exactly as the web app loads it at start."""

from __future__ import annotations

from listener.config import Settings
from listener.conversation.flow import Flow
from listener.conversation.graph import FlowError
from listener.operators.doctor.findings import Finding

CHECK = "flow"


def check_flow(settings: Settings) -> list[Finding]:
    try:
        flow = Flow.from_file(settings.flow_file)
    except FlowError as exc:
        return [
            Finding.blocker(
                CHECK,
                str(exc),
                "fix the file (`listener flow check` shows the same), or point FLOW_FILE at the right one",
            )
        ]
    return [
        Finding.ok(
            CHECK, f"{flow.graph.source}: {len(flow.graph.states)} states, {len(flow.spec.transitions)} transitions"
        )
    ]
