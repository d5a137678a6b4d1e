"""The drawing as a standalone SVG: `listener flow graph --format svg`, the README's picture,
the console's flow page (with its numbers) and the simulator (with the current state).

Everything is drawn here in Python from `listener.diagram.layout`, so the picture is the
same wherever it is shown and needs no browser to make. Texts are escaped; a state's
`transitions.yaml:LINE` is a link when the page gives `link`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape

from listener.diagram.layout import (
    BOX_TITLE,
    LABEL_LINE,
    LABEL_PAD,
    LABEL_SIZE,
    NAME_SIZE,
    NODE_PAD_Y,
    SMALL_SIZE,
    Layout,
    PlacedNode,
    layout,
)
from listener.diagram.model import START, Drawing, Label

STYLE = """
.flow-diagram { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
.flow-diagram .box rect { fill: #f5f7fa; stroke: #8a94a6; stroke-width: 1.2; }
.flow-diagram .box.depth-0 rect { fill: #fbfcfd; stroke-dasharray: 6 4; }
.flow-diagram .box text { font-size: 12px; font-weight: 600; fill: #3b4455; }
.flow-diagram .state rect, .flow-diagram .state polygon { fill: #ffffff; stroke: #3b4455; stroke-width: 1.5; }
.flow-diagram .state.main rect, .flow-diagram .state.main polygon { stroke: #0b57d0; stroke-width: 2.2; }
.flow-diagram .state.current rect, .flow-diagram .state.current polygon { fill: #ffd84d; stroke: #1a1a1a; stroke-width: 3; }
.flow-diagram .state .name { font-size: 14px; font-weight: 700; fill: #1a1a1a; }
.flow-diagram .where { font-size: 11px; fill: #4a4a4a; }
.flow-diagram a .where { fill: #0b57d0; text-decoration: underline; }
.flow-diagram .resting { font-size: 11px; font-weight: 700; fill: #8a3b00; }
.flow-diagram .start { fill: #1a1a1a; }
.flow-diagram .arrow { fill: none; stroke: #5a6475; stroke-width: 1.4; }
.flow-diagram .arrow.main { stroke: #0b57d0; stroke-width: 2.2; }
.flow-diagram .label rect { fill: #ffffff; fill-opacity: 0.92; stroke: none; }
.flow-diagram .label text { font-size: 12px; fill: #1a1a1a; }
.flow-diagram .label .fired { font-weight: 700; fill: #8a3b00; }
.flow-diagram marker path { fill: #5a6475; }
"""


@dataclass
class FlowNumbers:
    """What the console adds to the drawing: participants resting in each state now, and
    how often each trace key (transition or route) fired in the window."""

    resting: dict[str, int] = field(default_factory=dict)
    fired: dict[str, int] = field(default_factory=dict)

    def count(self, label: Label) -> int:
        return sum(self.fired.get(key, 0) for key in label.keys)


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _state_lines(drawing: Drawing, numbers: FlowNumbers | None) -> dict[str, list[str]]:
    lines = {}
    for name, node in drawing.nodes.items():
        found = [f"{drawing.file}:{node.line}"] if node.line else []
        if numbers is not None:
            found.append(f"{numbers.resting.get(name, 0)} here")
        lines[name] = found
    return lines


WRAP = 30
"""Label lines longer than this many characters wrap, so long conditions keep the drawing narrow."""


def _wrapped(label: Label, numbers: FlowNumbers | None) -> list[str]:
    """A label's lines as drawn, its count (if any) after the last."""
    lines = textwrap.wrap(label.text, WRAP, subsequent_indent="  ") or [label.text]
    count = numbers.count(label) if numbers is not None else 0
    if count:
        lines[-1] += f" · {count}"
    return lines


def render(drawing: Drawing, numbers: FlowNumbers | None = None, current: str | None = None,
           link: Callable[[int], str] | None = None) -> str:
    """The SVG text; `numbers` adds the console's counts, `current` highlights a state,
    `link(line)` makes each `transitions.yaml:LINE` a link."""
    edge_lines = {
        (edge.source, edge.dest): [line for label in edge.labels for line in _wrapped(label, numbers)]
        for edge in drawing.edges
    }
    placed = layout(drawing, _state_lines(drawing, numbers), edge_lines)
    return _svg(drawing, placed, numbers, current, link)


def _svg(drawing: Drawing, placed: Layout, numbers: FlowNumbers | None, current: str | None,
         link: Callable[[int], str] | None) -> str:
    bounds = placed.bounds
    main = set(drawing.main_path)
    out = [
        (f'<svg xmlns="http://www.w3.org/2000/svg" class="flow-diagram" role="img" '
         f'viewBox="{_n(bounds.x)} {_n(bounds.y)} {_n(bounds.w)} {_n(bounds.h)}" '
         f'width="{_n(bounds.w)}" height="{_n(bounds.h)}" aria-labelledby="flow-diagram-title">'),
        (f'<title id="flow-diagram-title">The conversation in {_attr(drawing.file)}: '
         f'{" → ".join(_attr(name) for name in drawing.main_path)}</title>'),
        f"<style>{STYLE}</style>",
        ('<defs><marker id="flow-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
         'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"/></marker></defs>'),
        '<g class="viewport">',
    ]
    for box in sorted(placed.boxes.values(), key=lambda box: box.depth):
        spec = drawing.boxes[box.name]
        rect = box.rect
        out.append(
            f'<g class="box depth-{box.depth}" data-group="{_attr(box.name)}">'
            f'<rect x="{_n(rect.x)}" y="{_n(rect.y)}" width="{_n(rect.w)}" height="{_n(rect.h)}" rx="10"/>'
            f'<text x="{_n(rect.x + 10)}" y="{_n(rect.y + BOX_TITLE - 5)}">{_attr(box.title)}'
        )
        if spec.line:
            where = f"{drawing.file}:{spec.line}"
            tail = f'<a href="{_attr(link(spec.line))}"><tspan class="where">{_attr(where)}</tspan></a>' if link else (
                f'<tspan class="where">{_attr(where)}</tspan>')
            out.append(f'<tspan class="where"> · </tspan>{tail}')
        out.append("</text></g>")
    for edge in placed.edges:
        main_arrow = edge.edge.source in main | {START} and edge.edge.dest in main and len(edge.points) == 2
        path = " ".join(f"{'M' if index == 0 else 'L'} {_n(x)} {_n(y)}" for index, (x, y) in enumerate(edge.points))
        out.append(
            f'<path class="arrow{" main" if main_arrow else ""}" d="{path}" marker-end="url(#flow-arrow)" '
            f'data-from="{_attr(edge.edge.source)}" data-to="{_attr(edge.edge.dest)}"/>'
        )
    for node in placed.nodes.values():
        out.append(_node(drawing, node, node.name in main, node.name == current, numbers, link))
    for edge in placed.edges:
        if edge.label is None:
            continue
        rect = edge.label
        out.append(
            f'<g class="label" data-from="{_attr(edge.edge.source)}" data-to="{_attr(edge.edge.dest)}">'
            f'<rect x="{_n(rect.x)}" y="{_n(rect.y)}" width="{_n(rect.w)}" height="{_n(rect.h)}" rx="4"/>'
        )
        row = 0
        for label in edge.edge.labels:
            count = numbers.count(label) if numbers is not None else None
            data = f' data-keys="{_attr(" ".join(label.keys))}"' + (f' data-fired="{count}"' if count is not None else "")
            out.append(f'<text font-size="{LABEL_SIZE}"{data}>')
            lines = textwrap.wrap(label.text, WRAP, subsequent_indent="  ") or [label.text]
            for index, line in enumerate(lines):
                row += 1
                y = rect.y + LABEL_PAD + row * LABEL_LINE - 4
                out.append(f'<tspan class="words" x="{_n(rect.x + LABEL_PAD)}" y="{_n(y)}" xml:space="preserve">{_attr(line)}</tspan>')
                if count and index == len(lines) - 1:
                    out.append(f'<tspan class="fired"> · {count}</tspan>')
            out.append("</text>")
        out.append("</g>")
    out.append("</g></svg>")
    return "\n".join(out) + "\n"


def _node(drawing: Drawing, node: PlacedNode, main: bool, current: bool, numbers: FlowNumbers | None,
          link: Callable[[int], str] | None) -> str:
    rect = node.rect
    if node.name == START:
        return f'<circle class="start" cx="{_n(rect.cx)}" cy="{_n(rect.cy)}" r="{_n(rect.w / 2)}"><title>start</title></circle>'
    classes = " ".join(["state", "router" if node.routing else "waiting", *(["main"] if main else []),
                        *(["current"] if current else [])])
    if node.routing:
        inset = 12
        points = [(rect.x, rect.cy), (rect.x + inset, rect.y), (rect.right - inset, rect.y), (rect.right, rect.cy),
                  (rect.right - inset, rect.bottom), (rect.x + inset, rect.bottom)]
        shape = f'<polygon points="{" ".join(f"{_n(x)},{_n(y)}" for x, y in points)}"/>'
    else:
        shape = f'<rect x="{_n(rect.x)}" y="{_n(rect.y)}" width="{_n(rect.w)}" height="{_n(rect.h)}" rx="8"/>'
    spec = drawing.nodes[node.name]
    parts = [
        f'<g class="{classes}" data-state="{_attr(node.name)}">{shape}',
        f'<text class="name" x="{_n(rect.cx)}" y="{_n(rect.y + NODE_PAD_Y + NAME_SIZE - 2)}" text-anchor="middle">{_attr(node.name)}</text>',
    ]
    y = rect.y + NODE_PAD_Y + NAME_SIZE + SMALL_SIZE + 2
    if spec.line:
        where = f'<text class="where" x="{_n(rect.cx)}" y="{_n(y)}" text-anchor="middle">{_attr(f"{drawing.file}:{spec.line}")}</text>'
        parts.append(f'<a href="{_attr(link(spec.line))}">{where}</a>' if link else where)
        y += SMALL_SIZE + 4
    if numbers is not None:
        resting = numbers.resting.get(node.name, 0)
        parts.append(
            f'<text class="resting" x="{_n(rect.cx)}" y="{_n(y)}" text-anchor="middle" data-resting="{resting}">{resting} here</text>'
        )
    parts.append("</g>")
    return "".join(parts)
