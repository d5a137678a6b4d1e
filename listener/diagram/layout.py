"""Place a drawing: the main path in one column, the other states beside it, boxes
around groups, arrows as right-angled lines.

Why not leave the layout to Mermaid: its layered layout (dagre) lays a box out as a block
once any arrow enters one of its states, and then neither keeps the main path in one line
nor draws an arrow from a box to its own member. This layout is simple and always the
same for the same graph:

* Rows and columns. The start marker is row 0, the main path rows 1..n of column 0. Every
  other state goes to the free cell nearest the row of the states it leads to, in column
  1 or further right, where it lands inside its own boxes and outside all others.
* Boxes are the rectangles around their states' cells, with room for their title.
* Arrows. Between neighbours of column 0 an arrow is a straight vertical line; from a box
  into one of its states, or between cells of one row with nothing between them, a
  straight horizontal one; any other arrow between two things of column 0 runs in a lane
  to the left (inside the innermost box holding both ends), and the rest in a lane in the
  gap between the columns of its ends. Each label sits beside its arrow where it overlaps
  no state, box title or other label.

Text widths are estimated from character classes (no font is read), with room to spare.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from listener.diagram.model import START, Drawing, Edge

NAME_SIZE = 14
SMALL_SIZE = 11
LABEL_SIZE = 12
LABEL_LINE = 15
NODE_PAD_X = 14
NODE_PAD_Y = 8
MIN_NODE_WIDTH = 120
START_SIZE = 14
BOX_PAD = 12
BOX_TITLE = 20
ROW_GAP = 30
COL_GAP = 28
LANE = 14
LABEL_PAD = 4
PORT_STEP = 11

NARROW = set("iljtfr.,:;'|!() ")
WIDE = set("mwMW@")


def text_width(text: str, size: float, bold: bool = False) -> float:
    """An estimate a little wider than a sans-serif font draws `text`."""
    units = sum(0.3 if char in NARROW else 0.85 if char in WIDE else 0.68 if char.isupper() else 0.56 for char in text)
    return units * size * (1.07 if bold else 1.0) + 2


@dataclass
class Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    def overlaps(self, other: Rect, margin: float = 0) -> bool:
        return not (
            self.right + margin <= other.x or other.right + margin <= self.x
            or self.bottom + margin <= other.y or other.bottom + margin <= self.y
        )


@dataclass
class PlacedNode:
    name: str
    rect: Rect
    lines: list[str]
    routing: bool = False


@dataclass
class PlacedBox:
    name: str
    rect: Rect
    title: str
    depth: int


@dataclass
class PlacedEdge:
    edge: Edge
    points: list[tuple[float, float]]
    lines: list[str]
    label: Rect | None = None


@dataclass
class Layout:
    nodes: dict[str, PlacedNode]
    boxes: dict[str, PlacedBox]
    edges: list[PlacedEdge]
    bounds: Rect


def node_size(name: str, lines: list[str], routing: bool) -> tuple[float, float]:
    if name == START:
        return START_SIZE, START_SIZE
    width = max([text_width(name, NAME_SIZE, bold=True), *(text_width(line, SMALL_SIZE) for line in lines)])
    width = max(MIN_NODE_WIDTH, width + 2 * NODE_PAD_X + (24 if routing else 0))
    return width, NAME_SIZE + 2 * NODE_PAD_Y + len(lines) * (SMALL_SIZE + 4)


def label_size(lines: list[str]) -> tuple[float, float]:
    if not lines:
        return 0, 0
    return max(text_width(line, LABEL_SIZE) for line in lines) + 2 * LABEL_PAD, len(lines) * LABEL_LINE + 2 * LABEL_PAD


@dataclass
class _Span:
    """The cells a state, box or the start marker covers."""

    rows: tuple[int, int]
    cols: tuple[int, int]


@dataclass
class _Route:
    edge: Edge
    kind: str
    lines: list[str]
    lane: float = 0.0
    level: str | None = None
    gap: int = 0
    ends: list[tuple[str, str]] = field(default_factory=list)


class _Placer:
    def __init__(self, drawing: Drawing, state_lines: dict[str, list[str]], edge_lines: dict[tuple[str, str], list[str]]) -> None:
        self.d = drawing
        self.state_lines = state_lines
        self.edge_lines = edge_lines
        self.cells: dict[str, tuple[int, int]] = {START: (0, 0)}
        self.sizes = {
            name: node_size(name, state_lines.get(name, []), name in drawing.nodes and drawing.nodes[name].routing)
            for name in [START, *drawing.nodes]
        }

    # cells -------------------------------------------------------------------------------

    def place_cells(self) -> None:
        for row, name in enumerate(self.d.main_path, start=1):
            self.cells[name] = (row, 0)
        depth = {name: sum(name in box.states for box in self.d.boxes.values()) for name in self.d.nodes}
        side = [name for name in self.d.nodes if name not in self.cells]
        for name in sorted(side, key=lambda state: -depth[state]):
            self.cells[name] = self._free_cell(name)

    def _box_cells(self, box: str, extra: tuple[int, int] | None = None) -> list[tuple[int, int]]:
        found = [self.cells[name] for name in self.d.boxes[box].states if name in self.cells]
        return found + ([extra] if extra else [])

    @staticmethod
    def _inside(cell: tuple[int, int], cells: list[tuple[int, int]]) -> bool:
        if not cells:
            return False
        rows = [row for row, _ in cells]
        cols = [col for _, col in cells]
        return min(rows) <= cell[0] <= max(rows) and min(cols) <= cell[1] <= max(cols)

    def _fits(self, name: str, cell: tuple[int, int]) -> bool:
        if cell in self.cells.values():
            return False
        for box in self.d.boxes.values():
            if name in box.states:
                grown = self._box_cells(box.name, cell)
                strangers = [at for other, at in self.cells.items() if other not in box.states]
                if any(self._inside(at, grown) for at in strangers):
                    return False
            elif self._inside(cell, self._box_cells(box.name)):
                return False
        return True

    def _preferred_row(self, name: str) -> int:
        """The row of what the state leads to (else of what leads to it)."""
        onward = [self._span(edge.dest).rows[0] for edge in self.d.edges if edge.source == name and self._placed(edge.dest)]
        inward = [self._span(edge.source).rows[0] for edge in self.d.edges if edge.dest == name and self._placed(edge.source)]
        rows = onward or inward
        return min(rows) if rows else 1

    def _placed(self, name: str) -> bool:
        if name in self.d.boxes:
            return bool(self._box_cells(name))
        return name in self.cells

    def _free_cell(self, name: str) -> tuple[int, int]:
        preferred = self._preferred_row(name)
        last_row = max(row for row, _ in self.cells.values()) + 1
        last_col = max(col for _, col in self.cells.values()) + 1
        candidates = [(row, col) for col in range(1, last_col + 1) for row in range(last_row + 1)]
        candidates.sort(key=lambda cell: (abs(cell[0] - preferred) + 2 * (cell[1] - 1), -cell[0]))
        for cell in candidates:
            if self._fits(name, cell):
                return cell
        return (preferred, last_col + 1)

    def _span(self, name: str) -> _Span:
        if name in self.d.boxes:
            cells = self._box_cells(name)
            rows = [row for row, _ in cells]
            cols = [col for _, col in cells]
            return _Span((min(rows), max(rows)), (min(cols), max(cols)))
        row, col = self.cells[name]
        return _Span((row, row), (col, col))

    # arrows: which way each goes ---------------------------------------------------------

    def classify(self) -> list[_Route]:
        routes = []
        for edge in self.d.edges:
            lines = self.edge_lines.get((edge.source, edge.dest), [label.text for label in edge.labels])
            routes.append(_Route(edge, self._kind(edge), lines))
        return routes

    def _kind(self, edge: Edge) -> str:
        source, dest = self._span(edge.source), self._span(edge.dest)
        if source.cols[0] == 0 and dest.cols[0] == 0 and dest.rows[0] == source.rows[1] + 1:
            return "down"
        if edge.source in self.d.boxes and self.d.contains(edge.source, edge.dest):
            return "inward"
        if self._same_row_clear(source, dest):
            return "across"
        if source.cols[0] == 0 and dest.cols[0] == 0:
            return "left"
        return "right"

    def _same_row_clear(self, source: _Span, dest: _Span) -> bool:
        left, right = (source, dest) if source.cols[1] < dest.cols[0] else (dest, source)
        if not left.cols[1] < right.cols[0]:
            return False
        rows = set(range(left.rows[0], left.rows[1] + 1)) & set(range(right.rows[0], right.rows[1] + 1))
        if not rows or (left.rows[0] != left.rows[1] and right.rows[0] != right.rows[1]):
            return False
        row = next(iter(sorted(rows)))
        between = {(row, col) for col in range(left.cols[1] + 1, right.cols[0])}
        return not between & set(self.cells.values())

    # geometry ----------------------------------------------------------------------------

    def geometry(self, routes: list[_Route]) -> Layout:
        rows = max(row for row, _ in self.cells.values()) + 1
        cols = max(col for _, col in self.cells.values()) + 1
        row_h = [max([self.sizes[n][1] for n, (r, _) in self.cells.items() if r == row] or [0]) for row in range(rows)]
        col_w = [max([self.sizes[n][0] for n, (_, c) in self.cells.items() if c == col] or [0]) for col in range(cols)]
        spans = {name: self._span(name) for name in self.d.boxes}

        gaps = []
        for row in range(rows - 1):
            opening = sum(span.rows[0] == row + 1 for span in spans.values())
            closing = sum(span.rows[1] == row for span in spans.values())
            label = max([label_size(route.lines)[1] for route in routes
                         if route.kind == "down" and self._span(route.edge.source).rows[1] == row] or [0])
            gaps.append(max(ROW_GAP, label + 12) + opening * (BOX_PAD + BOX_TITLE) + closing * BOX_PAD)
        tops = [0.0]
        for row in range(1, rows):
            tops.append(tops[-1] + row_h[row - 1] + gaps[row - 1])

        nodes: dict[str, PlacedNode] = {}
        lefts = [0.0] * cols

        def place_column(col: int) -> None:
            for name, (row, at) in self.cells.items():
                if at == col:
                    width, height = self.sizes[name]
                    rect = Rect(lefts[col] + (col_w[col] - width) / 2, tops[row] + (row_h[row] - height) / 2, width, height)
                    routing = name in self.d.nodes and self.d.nodes[name].routing
                    nodes[name] = PlacedNode(name, rect, self.state_lines.get(name, []), routing)

        boxes: dict[str, Rect] = {}
        order = sorted(self.d.boxes, key=lambda box: len(self.d.boxes[box].states))
        inward_room: dict[str, float] = {}
        for route in routes:
            if route.kind == "inward":
                inward_room[route.edge.dest] = max(inward_room.get(route.edge.dest, 0), label_size(route.lines)[0] + 24)

        def close_boxes(col: int) -> None:
            for box in order:
                if spans[box].cols[1] != col:
                    continue
                inner = [nodes[name].rect for name in self.d.boxes[box].states if self.d.box_of(name) == box]
                inner += [boxes[child] for child in self.d.boxes if self.d.boxes[child].parent == box]
                right = max([rect.right + inward_room.get(name, 0)
                             for name in self.d.boxes[box].states if self.d.box_of(name) == box
                             for rect in [nodes[name].rect]] + [rect.right for rect in inner])
                top = min(rect.y for rect in inner) - BOX_PAD - BOX_TITLE
                bottom = max(rect.bottom for rect in inner) + BOX_PAD
                left = min(rect.x for rect in inner) - BOX_PAD
                boxes[box] = Rect(left, top, right + BOX_PAD - left, bottom - top)

        gap_lanes: dict[int, list[_Route]] = {}
        for route in routes:
            if route.kind == "right":
                source, dest = self._span(route.edge.source), self._span(route.edge.dest)
                route.gap = min(source.cols[1], dest.cols[1]) if source.cols != dest.cols else source.cols[1]
                if source.cols[0] > dest.cols[1]:
                    route.gap = dest.cols[1]
                elif dest.cols[0] > source.cols[1]:
                    route.gap = source.cols[1]
                gap_lanes.setdefault(route.gap, []).append(route)
        for col in range(cols):
            place_column(col)
            close_boxes(col)
            content = max([nodes[n].rect.right for n, (_, c) in self.cells.items() if c == col]
                          + [boxes[b].right for b in boxes if spans[b].cols[1] == col])
            lanes = gap_lanes.get(col, [])
            for index, route in enumerate(sorted(lanes, key=lambda r: self._vertical_extent(r))):
                route.lane = content + COL_GAP / 2 + index * LANE
            room = max([label_size(route.lines)[0] for route in lanes] or [0])
            across = max([label_size(route.lines)[0] + 16 for route in routes
                          if route.kind == "across" and self._gap_only(route, col)] or [0])
            if col + 1 < cols:
                lefts[col + 1] = max(content + COL_GAP + len(lanes) * LANE + room + (8 if room else 0), content + across)

        self._left_lanes(routes, nodes, boxes)
        placed_boxes = {
            name: PlacedBox(name, boxes[name], self.d.boxes[name].title, self._depth(name)) for name in self.d.boxes
        }
        placed = self._draw_routes(routes, nodes, boxes)
        self._place_labels(placed, nodes, placed_boxes, routes)
        rects = [node.rect for node in nodes.values()] + list(boxes.values()) + [edge.label for edge in placed if edge.label]
        xs = [x for edge in placed for x, _ in edge.points]
        left = min([rect.x for rect in rects] + xs) - 10
        top = min(rect.y for rect in rects) - 10
        right = max([rect.right for rect in rects] + xs) + 10
        bottom = max(rect.bottom for rect in rects) + 10
        return Layout(nodes, placed_boxes, placed, Rect(left, top, right - left, bottom - top))

    def _depth(self, box: str) -> int:
        depth, parent = 0, self.d.boxes[box].parent
        while parent is not None:
            depth, parent = depth + 1, self.d.boxes[parent].parent
        return depth

    def _vertical_extent(self, route: _Route) -> int:
        source, dest = self._span(route.edge.source), self._span(route.edge.dest)
        return abs(source.rows[0] - dest.rows[0])

    def _gap_only(self, route: _Route, col: int) -> bool:
        source, dest = self._span(route.edge.source), self._span(route.edge.dest)
        left, right = (source, dest) if source.cols[1] < dest.cols[0] else (dest, source)
        return left.cols[1] == col and right.cols[0] == col + 1

    def _level(self, route: _Route) -> str | None:
        """The innermost box that holds both ends of an arrow (None: no box does)."""
        holders = [
            box for box in self.d.boxes
            if self._holds(box, route.edge.source) and self._holds(box, route.edge.dest)
        ]
        return min(holders, key=lambda box: len(self.d.boxes[box].states)) if holders else None

    def _holds(self, box: str, name: str) -> bool:
        return name != START and self.d.contains(box, name)

    def _left_lanes(self, routes: list[_Route], nodes: dict[str, PlacedNode], boxes: dict[str, Rect]) -> None:
        """Lanes left of column 0, inside the innermost box that holds both ends; each box
        grows to the left to hold its lanes and their labels."""
        by_level: dict[str | None, list[_Route]] = {}
        for route in routes:
            if route.kind == "left":
                route.level = self._level(route)
                by_level.setdefault(route.level, []).append(route)
        column_zero = [name for name, (_, col) in self.cells.items() if col == 0]

        def inner_left(level: str | None) -> float:
            if level is None:
                lefts = [nodes[name].rect.x for name in column_zero]
                lefts += [boxes[box].x for box in self.d.boxes if self.d.boxes[box].parent is None]
                return min(lefts)
            members = [nodes[name].rect.x for name in column_zero if self.d.box_of(name) == level]
            members += [boxes[child].x for child in self.d.boxes if self.d.boxes[child].parent == level]
            return min(members) if members else boxes[level].x + BOX_PAD

        for level in sorted(self.d.boxes, key=lambda box: len(self.d.boxes[box].states)) + [None]:
            if level is not None and level in boxes:
                lanes = by_level.get(level, [])
                start = inner_left(level)
                for index, route in enumerate(sorted(lanes, key=self._vertical_extent)):
                    route.lane = start - 12 - index * LANE
                room = max([label_size(route.lines)[0] for route in lanes] or [0])
                if lanes:
                    left = min(route.lane for route in lanes) - room - 8 - BOX_PAD
                    if left < boxes[level].x:
                        boxes[level] = Rect(left, boxes[level].y, boxes[level].right - left, boxes[level].h)
                    self._grow_parents(level, boxes)
            elif level is None:
                lanes = by_level.get(None, [])
                start = inner_left(None)
                for index, route in enumerate(sorted(lanes, key=self._vertical_extent)):
                    route.lane = start - 12 - index * LANE

    def _grow_parents(self, box: str, boxes: dict[str, Rect]) -> None:
        parent = self.d.boxes[box].parent
        while parent is not None:
            inner = boxes[box]
            if inner.x - BOX_PAD < boxes[parent].x:
                left = inner.x - BOX_PAD
                boxes[parent] = Rect(left, boxes[parent].y, boxes[parent].right - left, boxes[parent].h)
            box, parent = parent, self.d.boxes[parent].parent

    def _rect(self, name: str, nodes: dict[str, PlacedNode], boxes: dict[str, Rect]) -> Rect:
        return boxes[name] if name in boxes else nodes[name].rect

    def _draw_routes(self, routes: list[_Route], nodes: dict[str, PlacedNode], boxes: dict[str, Rect]) -> list[PlacedEdge]:
        """Points of every arrow; ends that share a side of a state are spread along it."""
        sides: dict[tuple[str, str], list[tuple[float, int]]] = {}
        plans: list[tuple[_Route, str, str]] = []
        for index, route in enumerate(routes):
            source = self._rect(route.edge.source, nodes, boxes)
            dest = self._rect(route.edge.dest, nodes, boxes)
            if route.kind in ("down",):
                plans.append((route, "", ""))
                continue
            if route.kind == "inward":
                ends = ("", "right")
            elif route.kind == "left":
                ends = ("left", "left")
            elif route.kind == "across":
                ends = ("right", "left") if source.right <= dest.x else ("left", "right")
            elif source.right <= dest.x:
                ends = ("right", "left")
            elif dest.right <= source.x:
                ends = ("left", "right")
            else:
                ends = ("right", "right")
            plans.append((route, *ends))
            for name, side, other in ((route.edge.source, ends[0], dest), (route.edge.dest, ends[1], source)):
                if side and name not in boxes:
                    sides.setdefault((name, side), []).append((other.cy, index))
        port: dict[tuple[str, str, int], float] = {}
        for (name, side), ends in sides.items():
            rect = nodes[name].rect
            ends.sort()
            step = min(PORT_STEP, (rect.h - 8) / max(1, len(ends)))
            for position, (_, index) in enumerate(ends):
                port[(name, side, index)] = rect.cy + (position - (len(ends) - 1) / 2) * step

        box_ports: dict[tuple[str, str], int] = {}

        def at(name: str, side: str, index: int, other: Rect) -> tuple[float, float]:
            rect = self._rect(name, nodes, boxes)
            x = rect.x if side == "left" else rect.right
            if name in boxes:
                used = box_ports.get((name, side), 0)
                box_ports[(name, side)] = used + 1
                y = rect.cy + (used - 0.5) * PORT_STEP * 2 if other.cy >= rect.y else rect.cy
                return x, max(rect.y + BOX_TITLE + 6, min(rect.bottom - 6, y))
            return x, port[(name, side, index)]

        placed = []
        center = None
        zero = [nodes[name].rect for name, (_, col) in self.cells.items() if col == 0]
        if zero:
            center = zero[0].cx
        for index, (route, out_side, in_side) in enumerate(plans):
            source = self._rect(route.edge.source, nodes, boxes)
            dest = self._rect(route.edge.dest, nodes, boxes)
            if route.kind == "down":
                x = center if center is not None else source.cx
                points = [(x, source.bottom), (x, dest.y)]
            elif route.kind == "inward":
                y = port[(route.edge.dest, "right", index)] if route.edge.dest not in boxes else dest.cy
                points = [(source.right, y), (dest.right, y)]
            elif route.kind == "across":
                start = at(route.edge.source, out_side, index, dest)
                end = at(route.edge.dest, in_side, index, source)
                if route.edge.source in boxes:
                    start = (start[0], end[1])
                elif route.edge.dest in boxes:
                    end = (end[0], start[1])
                else:
                    # one straight line: at the port of the more crowded side, if the other state spans it
                    crowded = len(sides[(route.edge.source, out_side)]) >= len(sides[(route.edge.dest, in_side)])
                    y = start[1] if crowded else end[1]
                    other = dest if crowded else source
                    if other.y + 4 <= y <= other.bottom - 4:
                        start, end = (start[0], y), (end[0], y)
                middle = (start[0] + end[0]) / 2
                points = [start, (middle, start[1]), (middle, end[1]), end] if start[1] != end[1] else [start, end]
            else:
                start = at(route.edge.source, out_side, index, dest)
                end = at(route.edge.dest, in_side, index, source)
                points = [start, (route.lane, start[1]), (route.lane, end[1]), end]
            placed.append(PlacedEdge(route.edge, points, route.lines))
        return placed

    def _place_labels(self, placed: list[PlacedEdge], nodes: dict[str, PlacedNode],
                      boxes: dict[str, PlacedBox], routes: list[_Route]) -> None:
        """Each label beside its arrow, the first place that covers no state, title or label."""
        taken = [node.rect for node in nodes.values()]
        taken += [Rect(box.rect.x, box.rect.y, text_width(box.title, SMALL_SIZE + 1) + 120, BOX_TITLE) for box in boxes.values()]
        for edge, route in zip(placed, routes):
            width, height = label_size(edge.lines)
            if not edge.lines:
                continue
            candidates = list(self._candidates(edge, route.kind, width, height))
            choice = next((rect for rect in candidates if not any(rect.overlaps(other, 2) for other in taken)), candidates[0])
            edge.label = choice
            taken.append(choice)

    @staticmethod
    def _candidates(edge: PlacedEdge, kind: str, width: float, height: float):
        points = edge.points
        if kind == "down":
            (x, y1), (_, y2) = points[0], points[-1]
            middle = (y1 + y2) / 2 - height / 2
            for shift in (0, -8, 8, -16, 16):
                yield Rect(x + 6, middle + shift, width, height)
            yield Rect(x - 6 - width, middle, width, height)
            return
        if kind in ("inward", "across"):
            (x1, y1), (x2, _) = points[0], points[-1]
            lo, hi = min(x1, x2), max(x1, x2)
            for fraction in (0.5, 0.35, 0.65, 0.2, 0.8):
                x = lo + (hi - lo) * fraction - width / 2
                yield Rect(x, y1 - height - 2, width, height)
                yield Rect(x, y1 + 2, width, height)
            return
        lane = points[1][0]
        y1, y2 = sorted((points[1][1], points[2][1]))
        left = kind == "left"
        x = lane - 5 - width if left else lane + 5
        steps = max(1, int((y2 - y1) / 6))
        middle = (y1 + y2) / 2 - height / 2
        offsets = sorted(range(-steps, steps + 1), key=abs)
        for offset in offsets:
            yield Rect(x, middle + offset * 6, width, height)
        for offset in range(1, 30):
            yield Rect(x, y2 + offset * 6, width, height)
            yield Rect(x, y1 - height - offset * 6, width, height)


def layout(drawing: Drawing, state_lines: dict[str, list[str]], edge_lines: dict[tuple[str, str], list[str]]) -> Layout:
    """Where every state, box, arrow and label of `drawing` goes; `state_lines` are the
    small lines under each state's name, `edge_lines` each arrow's label lines."""
    placer = _Placer(drawing, state_lines, edge_lines)
    placer.place_cells()
    routes = placer.classify()
    return placer.geometry(routes)
