"""The DAG pane that the run screen and the past-run screen share: the graph, or (`g`) the
wave table in its place, with one selection carried across the swap."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..widgets.dag_graph import DagGraph
from ..widgets.task_table import TaskTable


class DagPane:
    """Mixed into a Screen that has `graph` and `tasks`; the class `-table` says which shows."""

    graph: DagGraph
    tasks: TaskTable

    if TYPE_CHECKING:  # the Screen's own, which this mixin must not shadow

        def has_class(self, *names: str) -> bool: ...
        def toggle_class(self, *names: str) -> None: ...

    @property
    def showing_table(self) -> bool:
        return self.has_class("-table")

    @property
    def dag_view(self) -> DagGraph | TaskTable:
        """The view on show."""
        return self.tasks if self.showing_table else self.graph

    def select(self, task_id: str) -> None:
        """Put the DAG pane's cursor on the task (the view on show)."""
        self.dag_view.select(task_id)

    def swap_dag_view(self, focus: bool) -> None:
        """The graph ⇄ the wave table, on the same selected task; `focus` the new view."""
        selected = self.dag_view.selected_task
        self.toggle_class("-table")
        table = self.showing_table
        self.graph.show(not table)
        self.tasks.show(table)
        if selected is not None:
            self.dag_view.select(selected)
        if focus:
            self.dag_view.focus()
