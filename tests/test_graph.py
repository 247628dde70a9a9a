"""The task DAG (orchestrator_tui.core.graph): validation, waves, critical path, ready set
and the file-overlap guard, by example and by Hypothesis against brute-force references."""

from __future__ import annotations

import fnmatch
import itertools
import posixpath
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator_tui.core.graph import (
    check_graph,
    critical_path,
    find_cycles,
    ready_tasks,
    remaining_path,
    topological_order,
    waves,
)
from orchestrator_tui.core.models import Task
from orchestrator_tui.core.overlap import (
    Ancestry,
    normalize_path,
    overlap_conflicts,
    overlap_groups,
    patterns_may_meet,
)
from orchestrator_tui.core.scheduler import schedule

PROPERTY = settings(max_examples=120, deadline=None)


def task(task_id: str, *depends: str, files: tuple[str, ...] = (), estimate: float | None = None):
    return Task(
        id=task_id, title=f"Task {task_id}", depends=depends, files=files, estimate=estimate
    )


DIAMOND = [
    task("A"),
    task("B", "A"),
    task("C", "A"),
    task("D", "B", "C"),
    task("E"),
]


def ancestors_of(tasks: list[Task]) -> dict[str, set[str]]:
    """Brute force: every task's transitive dependencies (the graph must be acyclic)."""
    by_id = {t.id: t for t in tasks}
    found: dict[str, set[str]] = {}

    def visit(task_id: str) -> set[str]:
        if task_id not in found:
            result: set[str] = set()
            for dep in by_id[task_id].depends:
                if dep in by_id:
                    result |= {dep} | visit(dep)
            found[task_id] = result
        return found[task_id]

    for t in tasks:
        visit(t.id)
    return found


def is_real_cycle(cycle: list[str], tasks: list[Task]) -> bool:
    """Each task of the cycle depends on the next, and the last on the first."""
    by_id = {t.id: t for t in tasks}
    return len(cycle) == len(set(cycle)) and all(
        after in by_id[before].depends
        for before, after in zip(cycle, [*cycle[1:], cycle[0]], strict=True)
    )


# --- order: topological order, waves -------------------------------------------------------


def test_topological_order_puts_dependencies_first_and_keeps_plan_order_among_equals() -> None:
    assert topological_order(DIAMOND) == ["A", "E", "B", "C", "D"]


def test_topological_order_ignores_unknown_dependencies_and_rejects_cycles() -> None:
    assert topological_order([task("A", "ghost"), task("B", "A")]) == ["A", "B"]
    with pytest.raises(ValueError, match="cycle"):
        topological_order([task("A", "B"), task("B", "A")])


def test_waves_group_tasks_by_depth_in_plan_order() -> None:
    assert waves(DIAMOND) == [["A", "E"], ["B", "C"], ["D"]]
    assert waves([]) == []
    # Depth is the longest chain below a task, not the shortest.
    chain = [task("A"), task("B", "A"), task("C", "B"), task("D", "A", "C")]
    assert waves(chain) == [["A"], ["B"], ["C"], ["D"]]


def test_duplicate_dependencies_count_once() -> None:
    tasks = [task("A"), task("B", "A", "A")]
    assert topological_order(tasks) == ["A", "B"]
    assert waves(tasks) == [["A"], ["B"]]


# --- critical path and remaining path --------------------------------------------------------


def test_critical_path_counts_one_unit_per_task_without_estimates() -> None:
    assert critical_path(DIAMOND) == ["A", "B", "D"]
    assert critical_path([]) == []
    assert critical_path([task("Solo")]) == ["Solo"]


def test_critical_path_follows_the_estimates() -> None:
    tasks = [
        task("A", estimate=600),
        task("B", "A", estimate=60),
        task("C", "A", estimate=3600),
        task("D", "B", "C", estimate=60),
        task("E", estimate=3000),
    ]
    assert critical_path(tasks) == ["A", "C", "D"]
    # One long task alone beats a chain of short ones.
    assert critical_path(
        [task("A", estimate=60), task("B", "A", estimate=60), task("L", estimate=600)]
    ) == ["L"]


def test_remaining_path_is_the_longest_weighted_tail_of_each_task() -> None:
    tasks = [
        task("A", estimate=600),
        task("B", "A", estimate=60),
        task("C", "A", estimate=3600),
        task("D", "B", "C", estimate=60),
        task("E"),
    ]
    assert remaining_path(tasks) == {
        "A": 600 + 3600 + 60,
        "B": 60 + 60,
        "C": 3600 + 60,
        "D": 60,
        "E": 1.0,
    }


# --- ready set -------------------------------------------------------------------------------


def test_ready_tasks_are_unresolved_tasks_whose_dependencies_are_all_resolved() -> None:
    assert ready_tasks(DIAMOND, set()) == ["A", "E"]
    assert ready_tasks(DIAMOND, {"A"}) == ["B", "C", "E"]
    assert ready_tasks(DIAMOND, {"A", "B"}) == ["C", "E"]
    assert ready_tasks(DIAMOND, {"A", "B", "C", "E"}) == ["D"]
    assert ready_tasks(DIAMOND, {"A", "B", "C", "D", "E"}) == []


# --- validation ------------------------------------------------------------------------------


def test_check_graph_reports_unknown_dependencies_with_a_suggestion() -> None:
    problems = check_graph([task("setup"), task("build", "setpu"), task("ship", "zzz")])
    assert [(p.task_id, p.message, p.hint) for p in problems] == [
        ("build", "build depends on unknown task 'setpu'", "did you mean setup?"),
        ("ship", "ship depends on unknown task 'zzz'", "no task has that ID"),
    ]


def test_check_graph_never_suggests_the_task_itself() -> None:
    # build3 is as close to build2 as to build1; build2 is the task that names it.
    problems = check_graph([task("build1"), task("build2", "build3")])
    assert [p.hint for p in problems] == ["did you mean build1?"]


def test_check_graph_reports_a_self_dependency_once_and_not_as_a_cycle() -> None:
    problems = check_graph([task("A", "A"), task("B", "A")])
    assert [(p.task_id, p.message, p.hint) for p in problems] == [
        ("A", "A depends on itself", "remove it from depends")
    ]


def test_check_graph_reports_a_cycle_with_its_whole_path() -> None:
    tasks = [task("T1"), task("T3", "T1", "T5"), task("T4", "T3"), task("T5", "T4")]
    problems = check_graph(tasks)
    assert len(problems) == 1
    assert problems[0].message == "dependency cycle: T3 → T5 → T4 → T3"
    assert problems[0].hint == "break it by removing one dependency"
    assert problems[0].task_id == "T3"


def test_find_cycles_reports_each_distinct_cycle_up_to_the_limit() -> None:
    tasks = [task("A", "B"), task("B", "A"), task("C", "D"), task("D", "C"), task("E", "A")]
    cycles = find_cycles(tasks)
    assert sorted(sorted(c) for c in cycles) == [["A", "B"], ["C", "D"]]
    assert all(is_real_cycle(c, tasks) for c in cycles)
    assert len(find_cycles(tasks, limit=1)) == 1
    assert find_cycles(DIAMOND) == []


def test_check_graph_is_quick_with_ten_thousand_unknown_dependencies() -> None:
    tasks = [task(f"T{i}") for i in range(10_000)]
    tasks.append(task("Z", *(f"X{i}" for i in range(10_000))))
    problems = check_graph(tasks)
    assert len(problems) == 10_000
    assert problems[0].message == "Z depends on unknown task 'X0'"


# --- file overlap ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "meet"),
    [
        ("src/a.py", "src/a.py", True),
        ("src/a.py", "src/b.py", False),
        ("src/*.py", "src/a.py", True),
        ("src/*.py", "tests/a.py", False),
        ("src/*.py", "src/a.js", False),
        ("src/**", "src", True),
        ("src/**", "src/deep/er/x.py", True),
        ("src/*.py", "tests/*.py", False),
        ("src/*.py", "src/*.js", True),  # globs: may meet unless their fixed parts differ
        ("*.md", "docs/*.txt", True),
        ("src/[ab].py", "src/a.py", True),
        ("src/[ab].py", "src/c.py", False),
        # A declared path with something inside it is a directory.
        ("src/api", "src/api/users.py", True),
        ("src/api", "src/api/*.py", True),
        ("src/api", "src/apiary.py", False),
        ("src/ap", "src/api/*.py", False),
    ],
)
def test_patterns_may_meet(a: str, b: str, meet: bool) -> None:
    assert patterns_may_meet(a, b) is meet
    assert patterns_may_meet(b, a) is meet


def test_normalize_path_gives_one_spelling() -> None:
    assert normalize_path("./src//a.py") == "src/a.py"
    assert normalize_path("src\\api\\users.py") == "src/api/users.py"
    assert normalize_path("src/api/") == "src/api/**"
    assert normalize_path(" . ") == "**"


def test_overlap_counts_tasks_that_may_touch_the_same_file() -> None:
    tasks = [
        task("A", files=("src/models/user.py",)),
        task("B", files=("./src/models/user.py", "docs/x.md")),
        task("C", files=("src/api/*.py",)),
        task("D", files=("src/api/users.py",)),
        task("E", files=("src/other.py",)),
        task("F", files=("docs/",)),
    ]
    assert overlap_conflicts(tasks) == {
        "A": {"B"},
        "B": {"A", "F"},
        "C": {"D"},
        "D": {"C"},
        "F": {"B"},
    }
    assert overlap_groups(tasks) == [["A", "B", "F"], ["C", "D"]]


def test_tasks_ordered_by_dependency_do_not_overlap() -> None:
    tasks = [
        task("A", files=("src/a.py",)),
        task("B", "A", files=("src/a.py",)),  # after A: fine
        task("C", "B", files=("src/a.py",)),  # after A through B: fine
        task("D", files=("src/*.py",)),  # beside all of them: not fine
    ]
    assert overlap_conflicts(tasks) == {"A": {"D"}, "B": {"D"}, "C": {"D"}, "D": {"A", "B", "C"}}
    assert overlap_groups(tasks) == [["A", "B", "C", "D"]]
    assert overlap_groups(tasks[:3]) == []


def test_a_task_does_not_overlap_itself() -> None:
    assert overlap_conflicts([task("A", files=("src/a.py", "src/*.py", "src/"))]) == {}


def test_schedule_bundles_waves_critical_path_and_overlaps() -> None:
    tasks = [task("A", files=("x.py",)), task("B", "A"), task("C", files=("x.py",))]
    result = schedule(tasks)
    assert result.waves == [["A", "C"], ["B"]]
    assert result.critical_path == ["A", "B"]
    assert result.overlaps == [["A", "C"]]
    assert result.first == ["A", "C"]
    assert schedule([]).first == []


# --- properties ---------------------------------------------------------------------------


@st.composite
def dags(draw: st.DrawFn, max_size: int = 20) -> list[Task]:
    """A random DAG: each task depends on up to 3 earlier ones, some weighted by an estimate.
    IDs are shuffled (plan order is not ID order) and so is the plan order itself (plan
    order need not be topological)."""
    size = draw(st.integers(min_value=0, max_value=max_size))
    names = draw(st.permutations([f"T{i}" for i in range(size)]))
    picks = draw(
        st.lists(st.lists(st.integers(0, max_size), max_size=3), min_size=size, max_size=size)
    )
    estimates = draw(
        st.lists(st.sampled_from([None, None, 60, 600, 1200, 5400]), min_size=size, max_size=size)
    )
    tasks = [
        task(names[i], *(names[p % i] for p in picks[i] if i), estimate=estimates[i])
        for i in range(size)
    ]
    order = draw(st.permutations(range(size)))
    return [tasks[i] for i in order]


@PROPERTY
@given(dags())
def test_waves_respect_every_dependency(tasks: list[Task]) -> None:
    plan_waves = waves(tasks)
    wave_of = {tid: n for n, wave in enumerate(plan_waves) for tid in wave}
    assert sorted(wave_of) == sorted(t.id for t in tasks)  # each task exactly once
    assert sum(len(w) for w in plan_waves) == len(tasks)
    position = {t.id: i for i, t in enumerate(tasks)}
    for t in tasks:
        assert all(wave_of[d] < wave_of[t.id] for d in t.depends)
        # As early as possible: a task in wave k > 0 waits for something in wave k - 1.
        if wave_of[t.id]:
            assert max(wave_of[d] for d in t.depends) == wave_of[t.id] - 1
    for wave in plan_waves:
        assert wave and wave == sorted(wave, key=position.__getitem__)
    order = topological_order(tasks)
    index = {tid: i for i, tid in enumerate(order)}
    assert all(index[d] < index[t.id] for t in tasks for d in t.depends)


@PROPERTY
@given(dags())
def test_critical_path_is_a_longest_chain(tasks: list[Task]) -> None:
    path = critical_path(tasks)
    by_id = {t.id: t for t in tasks}
    tail = remaining_path(tasks)
    if not tasks:
        assert path == [] and tail == {}
        return
    # A chain of real dependencies...
    assert all(a in by_id[b].depends for a, b in itertools.pairwise(path))
    # ...as heavy as the heaviest tail of any task.
    weight = sum(by_id[tid].estimate or 1.0 for tid in path)
    assert weight == pytest.approx(max(tail.values()))
    assert tail[path[0]] == pytest.approx(weight)


@PROPERTY
@given(dags(max_size=15), st.data())
def test_ready_tasks_follow_the_dependencies(tasks: list[Task], data: st.DataObject) -> None:
    resolved = set(data.draw(st.lists(st.sampled_from([t.id for t in tasks] or ["x"]))))
    ready = ready_tasks(tasks, resolved)
    expected = [t.id for t in tasks if t.id not in resolved and set(t.depends) <= resolved]
    assert ready == expected


@PROPERTY
@given(dags(max_size=20), st.data())
def test_an_injected_cycle_is_always_reported_with_a_real_cycle(
    tasks: list[Task], data: st.DataObject
) -> None:
    ancestors = ancestors_of(tasks)
    candidates = [(t.id, a) for t in tasks for a in sorted(ancestors[t.id])]
    if not candidates:
        # No chain to close: a two-task cycle will do.
        tasks = [*tasks, task("X", "Y"), task("Y", "X")]
    else:
        # Make an ancestor depend on its descendant: that closes a cycle through the chain.
        descendant, ancestor = data.draw(st.sampled_from(candidates))
        tasks = [
            t.model_copy(update={"depends": (*t.depends, descendant)}) if t.id == ancestor else t
            for t in tasks
        ]
    cycles = find_cycles(tasks)
    assert cycles
    assert all(is_real_cycle(c, tasks) for c in cycles)
    messages = [p.message for p in check_graph(tasks) if p.message.startswith("dependency cycle")]
    assert messages
    for message in messages:
        ids = message.removeprefix("dependency cycle: ").split(" → ")
        assert ids[0] == ids[-1]
        assert is_real_cycle(ids[:-1], tasks)
    with pytest.raises(ValueError):
        topological_order(tasks)


@PROPERTY
@given(dags(max_size=20))
def test_an_acyclic_plan_has_no_graph_problems(tasks: list[Task]) -> None:
    assert check_graph(tasks) == []
    assert find_cycles(tasks) == []


SEGMENTS = ["src", "api", "a.py", "b.py", "docs", "x.md"]
GLOB_SEGMENTS = [*SEGMENTS, "*", "*.py", "**", "?.py", "[ab].py"]


def declared_paths(segments: list[str]) -> st.SearchStrategy[str]:
    path = st.lists(st.sampled_from(segments), min_size=1, max_size=3).map("/".join)
    return st.one_of(path, path.map(lambda p: p + "/"), path.map(lambda p: "./" + p))


@PROPERTY
@given(
    declared_paths(GLOB_SEGMENTS),
    declared_paths(GLOB_SEGMENTS),
    st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=4).map("/".join),
)
def test_patterns_that_can_name_one_file_may_meet(a: str, b: str, file: str) -> None:
    """Soundness: if some file is named by both declarations, they are said to meet.
    (A declared path names that file; a glob, what it matches; a directory, `dir/**`.)"""

    def covers(declared: str, path: str) -> bool:
        if any(c in declared for c in "*?["):
            return fnmatch.fnmatchcase(path, declared)
        return path == declared

    a, b = normalize_path(a), normalize_path(b)
    if covers(a, file) and covers(b, file):
        assert patterns_may_meet(a, b)


@st.composite
def dags_with_files(draw: st.DrawFn) -> list[Task]:
    files = declared_paths(GLOB_SEGMENTS)
    return [
        t.model_copy(update={"files": tuple(draw(st.lists(files, max_size=3)))})
        for t in draw(dags(max_size=18))
    ]


@settings(max_examples=80, deadline=None)
@given(dags_with_files(), st.sampled_from([1, 3, 256]))
def test_overlap_conflicts_match_a_brute_force_reference(tasks: list[Task], landmarks: int) -> None:
    ancestors = ancestors_of(tasks)
    expected: dict[str, set[str]] = {}
    for i, a in enumerate(tasks):
        for b in tasks[i + 1 :]:
            meet = any(
                patterns_may_meet(normalize_path(fa), normalize_path(fb))
                for fa in a.files
                for fb in b.files
                if fa.strip() and fb.strip()
            )
            related = a.id in ancestors[b.id] or b.id in ancestors[a.id]
            if meet and not related:
                expected.setdefault(a.id, set()).add(b.id)
                expected.setdefault(b.id, set()).add(a.id)
    with patch.object(Ancestry, "LANDMARKS", landmarks):
        assert overlap_conflicts(tasks) == expected
        groups = overlap_groups(tasks)
    assert sorted(tid for group in groups for tid in group) == sorted(expected)
    position = {t.id: i for i, t in enumerate(tasks)}
    for group in groups:
        assert group == sorted(group, key=position.__getitem__)
        # Each group is connected and closed under conflicts.
        assert all(expected[tid] <= set(group) for tid in group)


@settings(max_examples=60, deadline=None)
@given(dags(max_size=30), st.sampled_from([1, 2, 4, 256]), st.data())
def test_ancestry_agrees_with_the_transitive_closure(
    tasks: list[Task], landmarks: int, data: st.DataObject
) -> None:
    """With few landmarks most answers come from the search; with many, from the labels."""
    ancestors = ancestors_of(tasks)
    with patch.object(Ancestry, "LANDMARKS", landmarks):
        ancestry = Ancestry(tasks)
    ids = [t.id for t in tasks]
    for a in ids:
        for b in data.draw(st.lists(st.sampled_from(ids), max_size=8)) if ids else []:
            assert ancestry.related(a, b) == (a in ancestors[b] or b in ancestors[a])


def reference_normalize_path(path: str) -> str:
    """normalize_path as first written: posixpath.normpath on every path."""
    path = path.strip().replace("\\", "/")
    is_dir = path.endswith("/")
    path = posixpath.normpath(path) if path else path
    if path in (".", ""):
        return "**"
    return f"{path}/**" if is_dir else path


@PROPERTY
@given(st.text(alphabet="ab./\\ *", max_size=12))
def test_normalize_path_matches_normpath(path: str) -> None:
    assert normalize_path(path) == reference_normalize_path(path)
