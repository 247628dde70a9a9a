"""The DAG pane's graph without an app (ui/graph_layout.py, ui/graph_picture.py): layers,
crossings, routing, the level of detail; pictures as plain text, and every edge of random
plans traced cell by cell from its task to its dependent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator_tui.ui.graph_layout import GraphLayout, Via, layers_of, layout_graph
from orchestrator_tui.ui.graph_picture import MAX_TITLE, Label, frame_for, picture, plain_row
from orchestrator_tui.ui.graph_routing import DOWN, LEFT, RIGHT, UP, Cell


def drawn(deps: Mapping[str, Sequence[str]], room: int = 200, titles: bool = False) -> str:
    ids = list(deps)
    layout = layout_graph(ids, deps)
    labels = {t: Label(t, f"Title {t}" if titles else "") for t in ids}
    return picture(layout, labels, frame_for(layout, labels, room))


def test_a_chain_is_one_straight_row() -> None:
    assert drawn({"A": [], "B": ["A"], "C": ["B"]}) == "A───B───C"


def test_a_diamond_forks_and_joins() -> None:
    assert drawn({"A": [], "B": ["A"], "C": ["A"], "D": ["B", "C"]}) == "A─┬─B─┬─D\n  ╰─C─╯"


def test_an_edge_that_skips_a_layer_goes_through_a_waypoint() -> None:
    deps = {"A": [], "B": ["A"], "C": ["B"], "D": ["A", "C"]}
    layout = layout_graph(list(deps), deps)
    assert drawn(deps) == "A─┬─B───C─┬─D\n  ╰───────╯"
    assert layout.columns[1][1] == Via(("A", "D"), 1)
    assert layout.columns[2][1] == Via(("A", "D"), 2)
    assert layout.steps[("A", "D")] == ((0, 1), (1, 1), (1, 0))
    assert layout.depends["D"] == ("A", "C") and layout.dependents["A"] == ("B", "D")


def test_layers_reorder_to_uncross_lines() -> None:
    # In plan order B1 would sit beside A1 though it depends on A2: both lines would cross.
    assert drawn({"A1": [], "A2": [], "B1": ["A2"], "B2": ["A1"]}) == "A1───B2\nA2───B1"


def test_depth_ignores_unknown_and_self_dependencies_and_survives_a_cycle() -> None:
    depth = layers_of(
        ["A", "B", "C", "X", "Y"], {"B": ["A", "Z9", "B"], "C": ["B"], "X": ["Y"], "Y": ["X"]}
    )
    assert depth == {"A": 0, "B": 1, "C": 2, "X": 3, "Y": 3}
    layout = layout_graph(["A", "X", "Y"], {"X": ["Y"], "Y": ["X"]})
    assert set(layout.place) == {"A", "X", "Y"}  # shown, though the engine refuses it


def test_titles_shrink_to_the_room_and_finished_layers_give_theirs_up_first() -> None:
    deps = {"T1": [], "T2": ["T1"], "T3": ["T2"]}
    ids = list(deps)
    layout = layout_graph(ids, deps)
    labels = {t: Label(f"✓ {t}", "A rather long title here") for t in ids}
    wide = frame_for(layout, labels, 200)
    assert wide.titles == (MAX_TITLE,) * 3 and wide.width <= 200
    assert plain_row(layout, labels, wide, 0).startswith("✓ T1 A rather long title here───")
    narrow = frame_for(layout, labels, 60)
    assert narrow.width <= 60 and min(narrow.titles) >= 6
    assert "…" in plain_row(layout, labels, narrow, 0)
    # T1's layer is finished: it shows its ID only, so the others keep more of their titles.
    done_first = frame_for(layout, labels, 60, finished={0})
    assert done_first.titles[0] == 0 and done_first.titles[1] > narrow.titles[1]
    assert plain_row(layout, labels, done_first, 0).startswith("✓ T1───")
    # Nothing fits: IDs only, and the picture is wider than the pane (it scrolls sideways).
    cramped = frame_for(layout, labels, 10)
    assert cramped.titles == (0, 0, 0) and cramped.width > 10


def test_a_cell_redrawn_with_only_some_edges() -> None:
    a, b = ("A", "B"), ("A", "C")
    cell = Cell(1, LEFT | RIGHT | DOWN, frozenset({a, b}), ((a, LEFT | RIGHT), (b, LEFT | DOWN)))
    assert cell.char == "┬"
    assert cell.char_of({a}) == "─"
    assert cell.char_of({b}) == "╮"
    assert cell.char_of(set()) == " "


def test_the_rows_a_highlight_touches() -> None:
    deps = {"A": [], "B": ["A"], "C": ["A"], "D": ["B", "C"]}
    layout = layout_graph(list(deps), deps)
    assert layout.rows_touched("C") == {0, 1}
    assert layout.rows_touched("A") == {0, 1}


# ---- every edge, traced ----------------------------------------------------------------

STEP = {LEFT: (0, -1), RIGHT: (0, 1), UP: (-1, 0), DOWN: (1, 0)}
OPPOSITE = {LEFT: RIGHT, RIGHT: LEFT, UP: DOWN, DOWN: UP}


def trace(layout: GraphLayout, gutter: int, edge: tuple[str, str], row: int) -> int:
    """Walk the edge's own lines through a gutter from its left side at `row`; the row it
    leaves the gutter's right side at."""
    cells = {
        (r, c.x): dict(c.parts)[edge]
        for r in range(layout.height)
        for c in layout.gutters[gutter].row(r)
        if edge in c.edges
    }
    width = layout.gutters[gutter].width
    at, came = (row, 0), LEFT
    for _ in range(len(cells) + 1):
        mask = cells[at]
        assert mask & came, (edge, at)
        onward = [d for d in (LEFT, RIGHT, UP, DOWN) if mask & d and d != came]
        assert len(onward) == 1, (edge, at, mask)
        if onward[0] == RIGHT and at[1] == width - 1:
            return at[0]
        step = STEP[onward[0]]
        at, came = (at[0] + step[0], at[1] + step[1]), OPPOSITE[onward[0]]
    raise AssertionError(f"{edge} loops in gutter {gutter}")


plans = st.integers(min_value=1, max_value=24).flatmap(
    lambda n: st.lists(
        st.lists(st.integers(min_value=0, max_value=n - 1), max_size=3), min_size=n, max_size=n
    )
)


@settings(max_examples=60, deadline=None)
@given(plans)
def test_every_edge_runs_unbroken_from_its_task_to_its_dependent(picks: list[list[int]]) -> None:
    ids = [f"T{i}" for i in range(len(picks))]
    deps = {ids[i]: [ids[j] for j in pick if j < i] for i, pick in enumerate(picks)}
    layout = layout_graph(ids, deps)
    depth = layers_of(ids, deps)
    cells_taken = [(layer, row) for layer, column in enumerate(layout.columns) for row in column]
    assert len(cells_taken) == len(set(cells_taken))
    assert {t: layout.place[t][0] for t in ids} == depth
    for task in ids:
        for dep in dict.fromkeys(deps[task]):
            edge = (dep, task)
            row = layout.place[dep][1]
            for gutter in range(depth[dep], depth[task]):
                row = trace(layout, gutter, edge, row)
                nxt = layout.columns[gutter + 1][row]
                assert nxt == task if gutter + 1 == depth[task] else nxt == Via(edge, gutter + 1)
