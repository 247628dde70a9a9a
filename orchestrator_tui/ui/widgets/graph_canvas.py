"""The DAG graph as drawn (the base of ui/widgets/dag_graph.py): rows of nodes and lines.

It holds what a row is drawn from — the layout and routing (ui/graph_layout.py), each
task's label and status, the level of detail (ui/graph_picture.py), the critical path,
the cursor and whether `e` draws only its edges — and draws each row only when it scrolls
into sight, then caches it until `forget_rows` (a status changed) or `forget_near` (the
cursor's neighbourhood changed) drops it. Scrolled sideways, only the layers in sight are
drawn. Moving the cursor and keeping the state up with the run are DagGraph's.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from ...core.models import TaskStatus
from ..graph_layout import GraphLayout
from ..graph_picture import CRITICAL_MARK, Frame, Label, Piece, row_pieces
from ..graph_routing import Edge
from .strip_cache import StripCacheView


class GraphCanvas(StripCacheView):
    """Draws the graph row by row from `graph`, `labels`, `statuses`, `frame`, `critical`
    and `cursor`; whoever changes them says which rows to draw again."""

    COMPONENT_CLASSES = {f"dag-graph--{status.value}" for status in TaskStatus} | {
        "dag-graph--critical",
        "dag-graph--edge",
        "dag-graph--edge-critical",
        "dag-graph--edge-selected",
        "dag-graph--near",
        "dag-graph--cursor",
        "dag-graph--cursor-blurred",
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.graph = GraphLayout()
        self.labels: dict[str, Label] = {}
        self.statuses: dict[str, TaskStatus] = {}
        self.frame = Frame()
        self.critical: frozenset[str] = frozenset()
        self.cursor: str | None = None
        self.only_selected = False  # `e`: draw only the selected task's edges
        self.strips: dict[int, Strip] = {}
        self.window = (0, 0)  # the first column and the width the cached rows were drawn for
        self.styles_cache: dict[str, Style] = {}

    # ---- what to draw again -------------------------------------------------------------

    def forget_near(self, *task_ids: str | None) -> None:
        rows: set[int] = set()
        for task_id in task_ids:
            if task_id is not None and task_id in self.graph.place:
                rows |= self.graph.rows_touched(task_id)
        self.forget_rows(*rows)

    def forget_rows(self, *rows: int) -> None:
        top = round(self.scroll_offset.y)
        for row in rows:
            self.strips.pop(row, None)
            self.refresh_line(row - top)

    # ---- drawing ------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.base_style
        row = round(self.scroll_offset.y) + y
        if not 0 <= row < self.graph.height:
            return Strip.blank(width, base)
        window = (round(self.scroll_offset.x), width)
        if window != self.window:  # scrolled sideways or resized: rows drawn anew
            self.window = window
            self.strips.clear()
        strip = self.strips.get(row)
        if strip is None:
            strip = self.strips[row] = self.row_strip(row, base, *window)
        return strip

    def row_strip(self, row: int, base: Style, left: int, width: int) -> Strip:
        """The row's part in sight: only the layers that reach into it are drawn."""
        pieces = row_pieces(self.graph, self.labels, self.frame, row, (left, left + width))
        origin = min(left, pieces[0].x) if pieces else left
        segments: list[Segment] = []
        x = origin
        for piece in pieces:
            chunk, style = self.piece_look(piece)
            if piece.x > x:
                segments.append(Segment(" " * (piece.x - x), base))
            if piece.task in self.critical and CRITICAL_MARK in chunk:
                mark = chunk.index(CRITICAL_MARK)
                segments.append(Segment(chunk[:mark], style))
                segments.append(Segment(CRITICAL_MARK, style + self.own_style("critical")))
                segments.append(Segment(chunk[mark + 1 :], style))
            else:
                segments.append(Segment(chunk, style))
            x = piece.x + cell_len(chunk)
        strip = Strip(segments, x - origin)
        return strip.crop_extend(left - origin, left - origin + width, base)

    def piece_look(self, piece: Piece) -> tuple[str, Style]:
        if piece.task:
            return piece.text, self.node_style(piece.task)
        mine = self.cursor is not None and any(self.cursor in edge for edge in piece.edges)
        if self.only_selected and not mine:
            return " " * len(piece.text), self.base_style
        if mine:
            text = piece.text
            if self.only_selected and piece.cells:
                edges = self.graph.edges_of(self.cursor or "")
                text = "".join(cell.char_of(edges) for cell in piece.cells)
            return text, self.style("edge-selected")
        if any(self.critical_edge(edge) for edge in piece.edges):
            return piece.text, self.style("edge-critical")
        return piece.text, self.style("edge")

    def critical_edge(self, edge: Edge) -> bool:
        return edge[0] in self.critical and edge[1] in self.critical

    def node_style(self, task_id: str) -> Style:
        status = self.statuses.get(task_id, TaskStatus.PENDING)
        style = self.style(status.value)
        if task_id == self.cursor:
            return style + self.own_style("cursor" if self.has_focus else "cursor-blurred")
        if self.cursor is not None and self.graph.neighbours(self.cursor, task_id):
            return style + self.own_style("near")
        return style

    def style(self, name: str) -> Style:
        """A component class's style over the pane's own, cached (the DOM walk is slow)."""
        style = self.styles_cache.get(name)
        if style is None:
            style = self.styles_cache[name] = self.base_style + self.own_style(name)
        return style

    def own_style(self, name: str) -> Style:
        """Only what the component class sets (a mark over the cursor keeps its ground)."""
        key = f"own-{name}"
        style = self.styles_cache.get(key)
        if style is None:
            style = self.get_component_rich_style(
                f"dag-graph--{name}", partial=True, default=Style()
            )
            self.styles_cache[key] = style
        return style

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self.styles_cache = {}
