"""The DAG pane's graph as rows of text pieces: how wide each layer is, what each row says.

Pure (Rich's cell widths, no Textual): the widget styles the pieces and draws only the
rows in sight. A node is `✓ T1 Models`: status glyph, ID, its marks (★ on the critical
path, ≈2 for the second group of tasks that may touch the same files), then its title in
what room is left. The level of detail follows the room: titles are as long as the pane
allows, layers whose tasks are all finished give theirs up first, then every layer but
those at work (`frame_for`); when even IDs alone do not fit, the pane scrolls sideways.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from rich.cells import cell_len, set_cell_size

from ..core.state import TaskState
from .graph_layout import GraphLayout, Via
from .graph_routing import Cell, Edge
from .view import TASK_ICONS

CRITICAL_MARK = "★"
OVERLAP_MARK = "≈"
MAX_TITLE = 32  # cells of title a node shows at most
MIN_TITLE = 6  # below this a title says nothing: none at all
FOCUS_TITLE = 16  # the layers at work, when the picture must scroll anyway


@dataclass(frozen=True)
class Label:
    """What a node says: `head` (glyph, ID, marks) always, `title` when there is room."""

    head: str
    title: str = ""


class Piece(NamedTuple):
    """A run of a row: `text` at column `x`; a node's (`task`), or a line's (`edges`).
    (A named tuple: immutable, and a frame makes a thousand of them.)"""

    x: int
    text: str
    task: str = ""
    edges: frozenset[Edge] = frozenset()
    cells: tuple[Cell, ...] = ()  # a gutter's run: its cells, to redraw with fewer lines


@dataclass(frozen=True)
class Frame:
    """Where the layers and gutters start, and how much title each layer's nodes show."""

    starts: tuple[int, ...] = ()  # each layer's first column
    widths: tuple[int, ...] = ()  # each layer's width
    titles: tuple[int, ...] = ()  # each layer's title room, in cells
    width: int = 0  # the whole picture

    def layer_at(self, x: int) -> int | None:
        for n, (start, width) in enumerate(zip(self.starts, self.widths, strict=True)):
            if start <= x < start + width:
                return n
        return None


def label_of(task: TaskState, critical: bool, group: int | None) -> Label:
    """`▶ T3 ★ ≈2` and the title: glyph, ID, on the critical path, in overlap group 2."""
    head = f"{TASK_ICONS[task.status]} {task.id}"
    if critical:
        head += f" {CRITICAL_MARK}"
    if group is not None:
        head += f" {OVERLAP_MARK}{group}"
    return Label(head, " ".join((task.title or "").split()))


def task_at(layout: GraphLayout, frame: Frame, x: int, y: int) -> str | None:
    """The task drawn at column x of row y, if any (a click)."""
    layer = frame.layer_at(x)
    node = layout.columns[layer].get(y) if layer is not None else None
    return node if isinstance(node, str) else None


def label_sizes(layout: GraphLayout, labels: Mapping[str, Label]) -> list[list[tuple[int, int]]]:
    """Each layer's (head, title) widths in cells, measured once per frame."""
    sizes = []
    for n in range(layout.layer_count):
        layer = []
        for task in layout.layer(n):
            label = labels.get(task, Label(task))
            layer.append((cell_len(label.head), cell_len(label.title)))
        sizes.append(layer)
    return sizes


def layer_width(sizes: list[tuple[int, int]], title: int) -> int:
    widest = 1
    for head, title_width in sizes:
        width = head + (1 + min(title_width, title) if title >= MIN_TITLE and title_width else 0)
        widest = max(widest, width)
    return widest


def frame_for(
    layout: GraphLayout,
    labels: Mapping[str, Label],
    room: int,
    finished: Collection[int] = (),
    focus: Collection[int] = (),
) -> Frame:
    """The level of detail that fits `room` cells, the first of: every layer's titles as
    long as fits; the finished layers' (`finished`) none, the others' as long as fits;
    only the `focus` layers' (those at work) as long as fits. When even IDs alone do not
    fit, the picture scrolls anyway: the focus layers keep FOCUS_TITLE cells of title."""
    count = layout.layer_count
    gutters = sum(g.width for g in layout.gutters)
    sizes = label_sizes(layout, labels)
    tiers: list[Callable[[int, int], int]] = [lambda _n, t: t]
    if finished:
        tiers.append(lambda n, t: 0 if n in finished else t)
    if focus:
        tiers.append(lambda n, t: t if n in focus else 0)

    def total(tier: Callable[[int, int], int], title: int) -> int:
        return gutters + sum(layer_width(sizes[n], tier(n, title)) for n in range(count))

    def widest(tier: Callable[[int, int], int]) -> int | None:
        """The largest title room in MIN_TITLE..MAX_TITLE that fits (the total grows with
        it: a binary search), or None."""
        low, high, best = MIN_TITLE, MAX_TITLE, None
        while low <= high:
            middle = (low + high) // 2
            if total(tier, middle) <= room:
                best, low = middle, middle + 1
            else:
                high = middle - 1
        return best

    titles = tuple(FOCUS_TITLE if n in focus else 0 for n in range(count))
    bests = [widest(tier) for tier in tiers[:2]]
    if len(bests) == 2 and bests[1] is not None and (bests[0] is None or bests[1] > bests[0]):
        titles = tuple(tiers[1](n, bests[1]) for n in range(count))  # more for the active
    elif bests[0] is not None:
        titles = tuple(tiers[0](n, bests[0]) for n in range(count))
    elif focus and (best := widest(tiers[-1])) is not None:
        titles = tuple(tiers[-1](n, best) for n in range(count))
    widths = tuple(layer_width(sizes[n], titles[n]) for n in range(count))
    starts, x = [], 0
    for n, width in enumerate(widths):
        starts.append(x)
        x += width + (layout.gutters[n].width if n < len(layout.gutters) else 0)
    return Frame(tuple(starts), widths, titles, x)


def node_text(label: Label, width: int, title: int) -> str:
    text = label.head
    if title >= MIN_TITLE and label.title:
        room = min(title, width - cell_len(text) - 1)
        if room > 0:
            cut = label.title if cell_len(label.title) <= room else label.title[: room - 1] + "…"
            text += " " + cut
    return set_cell_size(text, min(width, max(cell_len(text), 1)))


def row_pieces(
    layout: GraphLayout,
    labels: Mapping[str, Label],
    frame: Frame,
    row: int,
    window: tuple[int, int] | None = None,
) -> list[Piece]:
    """The pieces of one row, left to right (blanks left out); with `window` (first and
    last-but-one column in sight), only the layers and gutters that reach into it."""
    pieces: list[Piece] = []
    left, right = window if window is not None else (0, frame.width)
    gutters = layout.gutters
    for n, column in enumerate(layout.columns):
        start, width = frame.starts[n], frame.widths[n]
        end = frame.starts[n + 1] if n + 1 < len(frame.starts) else frame.width
        if end <= left or start >= right:
            continue
        gutter = gutters[n] if n < len(gutters) else None
        cells = gutter.row(row) if gutter is not None else ()
        node = column.get(row)
        if isinstance(node, Via):
            pieces.append(Piece(start, "─" * width, edges=frozenset((node.edge,))))
        elif node is not None:
            text = node_text(labels.get(node, Label(node)), width, frame.titles[n])
            pieces.append(Piece(start, text, task=node))
            rest = width - cell_len(text)
            if rest > 1 and cells and cells[0].x == 0:  # its line leaves: join it
                edges = cells[0].edges
                pieces.append(Piece(start + cell_len(text) + 1, "─" * (rest - 1), edges=edges))
        if cells:
            pieces.extend(gutter_pieces(cells, start + width))
    return pieces


def gutter_pieces(cells: tuple[Cell, ...], origin: int) -> list[Piece]:
    """A gutter's cells of one row, runs of the same edges joined into one piece."""
    pieces: list[Piece] = []
    run: list[Cell] = []
    run_x, run_edges, last_x = 0, frozenset[Edge](), -2
    for cell in cells:
        if run and (cell.x != last_x + 1 or cell.edges != run_edges):
            pieces.append(run_piece(origin + run_x, run, run_edges))
            run = []
        if not run:
            run_x, run_edges = cell.x, cell.edges
        run.append(cell)
        last_x = cell.x
    if run:
        pieces.append(run_piece(origin + run_x, run, run_edges))
    return pieces


def run_piece(x: int, run: list[Cell], edges: frozenset[Edge]) -> Piece:
    return Piece(x, "".join(cell.char for cell in run), edges=edges, cells=tuple(run))


def plain_row(layout: GraphLayout, labels: Mapping[str, Label], frame: Frame, row: int) -> str:
    """The row as plain text (tests, the benchmark, a look in a terminal)."""
    line = [" "] * frame.width
    for piece in row_pieces(layout, labels, frame, row):
        for i, char in enumerate(piece.text):
            if piece.x + i < len(line):
                line[piece.x + i] = char
    return "".join(line).rstrip()


def picture(layout: GraphLayout, labels: Mapping[str, Label], frame: Frame) -> str:
    return "\n".join(plain_row(layout, labels, frame, row) for row in range(layout.height))
