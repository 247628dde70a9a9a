"""How the DAG pane's lines run between two layers (a gutter): pure, no Textual.

A gutter's links (one step of an edge, from a row of the layer on its left to a row of
the layer on its right) are bundled — per source (a task and its dependents) or per
target (a task and its dependencies), whichever needs fewer vertical tracks — and the
bundles whose rows overlap get tracks of their own (interval partitioning), put in the
order that crosses fewer lines. A source's row runs from the gutter's left edge to its
bundle's track, the track runs between the bundle's rows, a target's row runs from the
track to the right edge.

The characters themselves are worked out per row, when a row is first drawn (`row`):
a 500-task plan's gutters hold tens of thousands of cells, and a frame needs forty rows.
Each cell holds the directions its lines leave it in (`UP | DOWN | LEFT | RIGHT`, drawn
by `CORNERS`) and each edge's own part of them, so that the pane can light the selected
task's edges, or draw only them.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

UP, DOWN, LEFT, RIGHT = 1, 2, 4, 8
CORNERS: dict[int, str] = {
    LEFT | RIGHT: "─",
    LEFT: "─",
    RIGHT: "─",
    UP | DOWN: "│",
    UP: "│",
    DOWN: "│",
    DOWN | RIGHT: "╭",
    DOWN | LEFT: "╮",
    UP | RIGHT: "╰",
    UP | LEFT: "╯",
    UP | DOWN | RIGHT: "├",
    UP | DOWN | LEFT: "┤",
    LEFT | RIGHT | DOWN: "┬",
    LEFT | RIGHT | UP: "┴",
    UP | DOWN | LEFT | RIGHT: "┼",
}
MAX_PASSES = 4  # bubble passes ordering a gutter's tracks

Edge = tuple[str, str]  # (dependency, dependent)
Segment = tuple[int, int, Edge]  # a link's row on the left, its row on the right, its edge


class Cell(NamedTuple):
    """One character of a gutter: the directions its lines go, the edges through it.
    (A named tuple: immutable, and a row makes dozens of them.)"""

    x: int
    mask: int
    edges: frozenset[Edge]
    parts: tuple[tuple[Edge, int], ...] = ()  # each edge's own directions here

    @property
    def char(self) -> str:
        return CORNERS.get(self.mask, " ")

    def char_of(self, edges: Collection[Edge]) -> str:
        """The character with only the lines of `edges` (the selected task's)."""
        mask = 0
        for edge, directions in self.parts:
            if edge in edges:
                mask |= directions
        return CORNERS.get(mask, " ")


@dataclass(frozen=True)
class Bundle:
    """Links that share a vertical track at column `x` of the gutter, rows low..high."""

    x: int
    low: int
    high: int
    members: tuple[Segment, ...]


@dataclass(frozen=True)
class Gutter:
    """The lines between layer n and layer n + 1. `row(r)` is the row's cells, by x;
    worked out on first use and kept (the only state in it: a cache)."""

    width: int = 2
    bundles: tuple[Bundle, ...] = ()
    drawn: dict[int, tuple[Cell, ...]] = field(default_factory=dict, compare=False, repr=False)

    def row(self, r: int) -> tuple[Cell, ...]:
        cells = self.drawn.get(r)
        if cells is None:
            cells = self.drawn[r] = self.draw_row(r)
        return cells

    def draw_row(self, r: int) -> tuple[Cell, ...]:
        width = self.width
        parts: dict[int, dict[Edge, int]] = defaultdict(dict)

        def mark(x: int, mask: int, edge: Edge) -> None:
            own = parts[x]
            own[edge] = own.get(edge, 0) | mask

        for bundle in self.bundles:
            if not bundle.low <= r <= bundle.high:
                continue
            x = bundle.x
            for source, target, edge in bundle.members:
                low, high = (source, target) if source <= target else (target, source)
                if r == source:
                    for col in range(0, x):
                        mark(col, LEFT | RIGHT, edge)
                    if low == high:
                        mark(x, LEFT | RIGHT, edge)
                    else:
                        mark(x, LEFT | (DOWN if source == low else UP), edge)
                if r == target:
                    for col in range(x + 1, width):
                        mark(col, LEFT | RIGHT, edge)
                    if low != high:
                        mark(x, RIGHT | (DOWN if target == low else UP), edge)
                if low < r < high:
                    mark(x, UP | DOWN, edge)
        cells = []
        for x in sorted(parts):
            own = parts[x]
            mask = 0
            for directions in own.values():
                mask |= directions
            cells.append(Cell(x, mask, frozenset(own), tuple(own.items())))
        return tuple(cells)


def route_gutter(segments: Sequence[Segment]) -> Gutter:
    """Bundle the gutter's links and give each bundle its track."""
    if not segments:
        return Gutter()
    by_source, by_target = bundle(segments, by_source=True), bundle(segments, by_source=False)
    tracks_s, count_s = assign_tracks(by_source)
    tracks_t, count_t = assign_tracks(by_target)
    groups, track_of, count = (
        (by_source, tracks_s, count_s) if count_s <= count_t else (by_target, tracks_t, count_t)
    )
    track_of = order_tracks(groups, track_of, count)
    bundles = tuple(
        Bundle(track_of[i] + 1, *span(members), tuple(members)) for i, members in enumerate(groups)
    )
    return Gutter(count + 2, bundles)


def bundle(segments: Sequence[Segment], by_source: bool) -> list[list[Segment]]:
    groups: dict[int, list[Segment]] = defaultdict(list)
    for segment in segments:
        groups[segment[0] if by_source else segment[1]].append(segment)
    return [groups[key] for key in sorted(groups)]


def span(members: Sequence[Segment]) -> tuple[int, int]:
    low = min(min(source, target) for source, target, _e in members)
    high = max(max(source, target) for source, target, _e in members)
    return low, high


def assign_tracks(groups: Sequence[Sequence[Segment]]) -> tuple[dict[int, int], int]:
    """Interval partitioning: bundles whose row spans overlap get different tracks."""
    spans = [span(members) for members in groups]
    ends: list[int] = []  # the last row used on each track
    track_of: dict[int, int] = {}
    for index in sorted(range(len(groups)), key=spans.__getitem__):
        low, high = spans[index]
        for track, end in enumerate(ends):
            if end < low:
                ends[track] = high
                track_of[index] = track
                break
        else:
            track_of[index] = len(ends)
            ends.append(high)
    return track_of, max(1, len(ends))


class Crossings:
    """How many lines cross when one track is left of another: the left track's target
    rows run right across the other track's spans, the right track's source rows run
    left across the left track's spans. Each track's rows are sorted once."""

    def __init__(self, groups: Sequence[Sequence[Segment]], on_track: list[list[int]]) -> None:
        self.spans = [[span(groups[i]) for i in track] for track in on_track]
        self.targets = [sorted(t for i in track for _s, t, _e in groups[i]) for track in on_track]
        self.sources = [sorted(s for i in track for s, _t, _e in groups[i]) for track in on_track]

    def __call__(self, left: int, right: int) -> int:
        targets, sources = self.targets[left], self.sources[right]
        count = 0
        for low, high in self.spans[right]:
            count += bisect_right(targets, high) - bisect_left(targets, low)
        for low, high in self.spans[left]:
            count += bisect_right(sources, high) - bisect_left(sources, low)
        return count


def order_tracks(
    groups: Sequence[Sequence[Segment]], track_of: dict[int, int], tracks: int
) -> dict[int, int]:
    """Put the tracks in the order with fewer crossings: adjacent swaps while one helps
    (at most MAX_PASSES bubble passes)."""
    if tracks < 2:
        return track_of
    on_track: list[list[int]] = [[] for _ in range(tracks)]
    for index, track in track_of.items():
        on_track[track].append(index)
    crossings = Crossings(groups, on_track)
    pair: dict[tuple[int, int], int] = {}

    def cost(a: int, b: int) -> int:
        if (a, b) not in pair:
            pair[(a, b)] = crossings(a, b)
        return pair[(a, b)]

    order = list(range(tracks))
    for _ in range(min(tracks, MAX_PASSES)):
        swapped = False
        for k in range(tracks - 1):
            a, b = order[k], order[k + 1]
            if cost(b, a) < cost(a, b):
                order[k], order[k + 1] = b, a
                swapped = True
        if not swapped:
            break
    position = {track: k for k, track in enumerate(order)}
    return {index: position[track] for index, track in track_of.items()}
