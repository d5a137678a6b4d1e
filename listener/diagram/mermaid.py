"""The drawing as Mermaid flowchart text (`listener flow graph`), to paste where Mermaid is drawn.

Boxes are subgraphs, arrows from a group leave its subgraph, the main path is written
first. Mermaid lays it out itself, so only the SVG (`listener.diagram.svg`) keeps the main
path in one straight line; the states, boxes and arrows are the same.
"""

from __future__ import annotations

import re

from listener.diagram.model import START, Drawing

UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def _id(drawing: Drawing, name: str) -> str:
    if name == START:
        return "start"
    prefix = "g_" if name in drawing.boxes else "s_"
    return prefix + (UNSAFE.sub("_", name) if name != "*" else "any")


def _text(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def mermaid(drawing: Drawing) -> str:
    """The Mermaid text: at most one arrow per (box or state, destination)."""
    lines = ["flowchart TB", f"    {_id(drawing, START)}(( ))"]
    written: set[str] = set()

    def state(name: str, indent: str) -> None:
        node = drawing.nodes[name]
        where = f"<br/>{drawing.file}:{node.line}" if node.line else ""
        shape = ('{{"', '"}}') if node.routing else ('("', '")')
        lines.append(f"{indent}{_id(drawing, name)}{shape[0]}{_text(name)}{where}{shape[1]}")
        written.add(name)

    def box(name: str, indent: str) -> None:
        group = drawing.boxes[name]
        where = f" · {drawing.file}:{group.line}" if group.line else ""
        lines.append(f'{indent}subgraph {_id(drawing, name)}["{_text(group.title)}{where}"]')
        for child in order:
            if child in drawing.boxes and drawing.boxes[child].parent == name:
                if child not in written:
                    written.add(child)
                    box(child, indent + "    ")
            elif child in drawing.nodes and drawing.box_of(child) == name and child not in written:
                state(child, indent + "    ")
        lines.append(f"{indent}end")

    order: list[str] = []
    for name in [*drawing.main_path, *drawing.nodes]:
        chain = []
        inner = drawing.box_of(name)
        while inner is not None:
            chain.append(inner)
            inner = drawing.boxes[inner].parent
        for outer in reversed(chain):
            if outer not in order:
                order.append(outer)
        if name not in order:
            order.append(name)
    for name in order:
        if name in drawing.boxes and drawing.boxes[name].parent is None and name not in written:
            written.add(name)
            box(name, "    ")
        elif name in drawing.nodes and drawing.box_of(name) is None and name not in written:
            state(name, "    ")
    for edge in drawing.edges:
        label = "<br/>".join(_text(line.text) for line in edge.labels)
        arrow = f'-->|"{label}"|' if label else "-->"
        lines.append(f"    {_id(drawing, edge.source)} {arrow} {_id(drawing, edge.dest)}")
    return "\n".join(lines) + "\n"
