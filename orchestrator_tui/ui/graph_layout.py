"""Where the DAG pane's graph puts each task and how its edges run: pure, no Textual.

The graph is drawn left to right: a task's layer is its depth (the longest chain of
dependencies before it, so layer n is wave n+1), each layer a column, each task one row
of its column. An edge that skips layers goes through a waypoint (`Via`) in every layer it
crosses, so that an edge only ever joins two neighbouring columns. Within a layer the
rows are ordered to cut crossings cheaply: two barycentre sweeps (each task near the
mean row of its neighbours in the layer before, then in the layer after), then each row
is pulled down to its neighbours' median row where there is room, so chains run straight.

Between two columns lies a gutter, whose lines ui/graph_routing.py lays.

Everything here is linear or n log n in tasks plus edges; 500 tasks take milliseconds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import median
from typing import NamedTuple

from .graph_routing import Edge, Gutter, Segment, route_gutter

SWEEPS = 2  # barycentre sweeps each way: most of the gain, little of the cost


class Via(NamedTuple):
    """Where an edge that skips layers crosses a layer: a row of its own there. (A named
    tuple: immutable, and hashed in every step of the layout.)"""

    edge: Edge
    layer: int


Node = str | Via
Link = tuple[Node, Node, Edge, int]  # an edge's step between neighbouring layers, its gutter


@dataclass(frozen=True)
class GraphLayout:
    """Tasks in layers, a row each; the gutters between the layers; who depends on whom.

    `columns[n]` maps a row to the task (or waypoint) layer n shows there; `place[task]`
    is the (layer, row) of a task. Rows with nothing in a layer are blank there."""

    columns: tuple[Mapping[int, Node], ...] = ()
    place: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    gutters: tuple[Gutter, ...] = ()
    height: int = 0
    depends: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    dependents: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    steps: Mapping[Edge, tuple[tuple[int, int], ...]] = field(default_factory=dict)  # rows

    @property
    def layer_count(self) -> int:
        return len(self.columns)

    def layer(self, n: int) -> list[str]:
        """The tasks of layer n, top to bottom."""
        column = self.columns[n]
        return [node for _row, node in sorted(column.items()) if isinstance(node, str)]

    def edges_of(self, task_id: str) -> set[Edge]:
        """The task's edges: from its dependencies, to its dependents."""
        edges = {(dep, task_id) for dep in self.depends.get(task_id, ())}
        return edges | {(task_id, later) for later in self.dependents.get(task_id, ())}

    def neighbours(self, task_id: str, other: str) -> bool:
        """Whether `other` is a dependency or a dependent of the task."""
        return other in self.depends.get(task_id, ()) or other in self.dependents.get(task_id, ())

    def rows_touched(self, task_id: str) -> set[int]:
        """The rows a change of the task's highlight redraws: its own, its neighbours',
        and every row its edges pass through."""
        rows: set[int] = set()
        for other in (task_id, *self.depends.get(task_id, ()), *self.dependents.get(task_id, ())):
            if other in self.place:
                rows.add(self.place[other][1])
        edges = [(dep, task_id) for dep in self.depends.get(task_id, ())]
        edges += [(task_id, later) for later in self.dependents.get(task_id, ())]
        for edge in edges:
            for left, right in self.steps.get(edge, ()):
                rows.update(range(min(left, right), max(left, right) + 1))
        return rows


def layers_of(task_ids: Sequence[str], depends: Mapping[str, Iterable[str]]) -> dict[str, int]:
    """Each task's depth: 0 with no dependency, else one more than its deepest dependency.
    Dependencies outside `task_ids` are ignored; tasks on a cycle go after the rest."""
    known = set(task_ids)
    deps = {
        t: [d for d in dict.fromkeys(depends.get(t, ())) if d in known and d != t] for t in task_ids
    }
    later: dict[str, list[str]] = defaultdict(list)
    waiting = {t: len(d) for t, d in deps.items()}
    for task, before in deps.items():
        for dep in before:
            later[dep].append(task)
    depth = {t: 0 for t in task_ids}
    ready = [t for t in task_ids if not waiting[t]]
    done: dict[str, int] = {}
    while ready:
        task = ready.pop()
        done[task] = depth[task]
        for nxt in later[task]:
            depth[nxt] = max(depth[nxt], depth[task] + 1)
            waiting[nxt] -= 1
            if not waiting[nxt]:
                ready.append(nxt)
    deepest = max(done.values(), default=-1)
    for task in task_ids:  # on a cycle: the engine refuses the plan; still show it
        if task not in done:
            done[task] = deepest + 1
    return done


def layout_graph(task_ids: Sequence[str], depends: Mapping[str, Iterable[str]]) -> GraphLayout:
    """Place the tasks (in plan order: ties keep it) and route their edges."""
    ids = list(dict.fromkeys(task_ids))
    if not ids:
        return GraphLayout()
    depth = layers_of(ids, depends)
    known = set(ids)
    deps = {
        t: tuple(d for d in dict.fromkeys(depends.get(t, ())) if d in known and d != t) for t in ids
    }
    edges = [(d, t) for t in ids for d in deps[t] if depth[d] < depth[t]]
    layer_count = max(depth.values()) + 1
    layers: list[list[Node]] = [[] for _ in range(layer_count)]
    for task in ids:
        layers[depth[task]].append(task)
    # Every edge as a chain of links between neighbouring layers.
    links: list[Link] = []
    for edge in edges:
        dep, task = edge
        previous: Node = dep
        for n in range(depth[dep] + 1, depth[task]):
            via = Via(edge, n)
            layers[n].append(via)
            links.append((previous, via, edge, n - 1))
            previous = via
        links.append((previous, task, edge, depth[task] - 1))
    before: dict[Node, list[Node]] = defaultdict(list)
    after: dict[Node, list[Node]] = defaultdict(list)
    for a, b, _edge, _gutter in links:
        after[a].append(b)
        before[b].append(a)
    order_layers(layers, before, after)
    rows = place_rows(layers, before)
    columns = tuple({rows[node]: node for node in layer} for layer in layers)
    gutters, steps = route(layer_count, links, rows)
    dependents: dict[str, list[str]] = defaultdict(list)
    for dep, task in edges:
        dependents[dep].append(task)
    return GraphLayout(
        columns=columns,
        place={t: (depth[t], rows[t]) for t in ids},
        gutters=gutters,
        height=max(rows.values()) + 1,
        depends={t: tuple(d for d in deps[t] if depth[d] < depth[t]) for t in ids},
        dependents={t: tuple(v) for t, v in dependents.items()},
        steps=steps,
    )


def order_layers(
    layers: list[list[Node]], before: Mapping[Node, list[Node]], after: Mapping[Node, list[Node]]
) -> None:
    """Barycentre sweeps, in place: each node near the mean position of its neighbours in
    the layer just swept; nodes without neighbours there keep their place."""

    def sweep(
        layer: list[Node], reference: list[Node], neighbours: Mapping[Node, list[Node]]
    ) -> None:
        position = {node: i for i, node in enumerate(reference)}
        keys: dict[Node, float] = {}
        for i, node in enumerate(layer):
            near = [position[n] for n in neighbours.get(node, ()) if n in position]
            keys[node] = sum(near) / len(near) if near else i * len(reference) / max(1, len(layer))
        layer.sort(key=keys.__getitem__)  # stable: ties keep the plan order

    for _ in range(SWEEPS):
        for n in range(1, len(layers)):
            sweep(layers[n], layers[n - 1], before)
        for n in range(len(layers) - 2, -1, -1):
            sweep(layers[n], layers[n + 1], after)


def place_rows(layers: list[list[Node]], before: Mapping[Node, list[Node]]) -> dict[Node, int]:
    """Rows in layer order, each as low as its dependencies' median row allows, so that a
    chain runs straight; never above the row after the previous node of its layer."""
    rows: dict[Node, int] = {}
    for layer in layers:
        next_free = 0
        for node in layer:
            near = [rows[n] for n in before.get(node, ()) if n in rows]
            wanted = int(median(near)) if near else next_free
            rows[node] = max(next_free, wanted)
            next_free = rows[node] + 1
    return rows


def route(
    layer_count: int, links: Sequence[Link], rows: Mapping[Node, int]
) -> tuple[tuple[Gutter, ...], dict[Edge, tuple[tuple[int, int], ...]]]:
    """Each gutter's lines; the rows each edge's steps join (left row, right row)."""
    by_gutter: list[list[Segment]] = [[] for _ in range(max(0, layer_count - 1))]
    steps: dict[Edge, list[tuple[int, int]]] = defaultdict(list)
    for a, b, edge, gutter in links:
        by_gutter[gutter].append((rows[a], rows[b], edge))
        steps[edge].append((rows[a], rows[b]))
    gutters = tuple(route_gutter(segments) for segments in by_gutter)
    return gutters, {edge: tuple(pairs) for edge, pairs in steps.items()}
