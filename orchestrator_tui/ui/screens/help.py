"""The keys, in one place (`?`)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
## Keys

| key | what it does |
|---|---|
| `a` | approve the stage that waits (opens what it produced first) |
| `r` | reject the waiting stage, with feedback for its rerun |
| `p` | pause (no new stage or task starts) / resume |
| `R` | retry the selected failed task (or the failed stage) |
| `s` | skip the selected task (its dependents may run) |
| `t` | take the selected running task over (its session opens for you); again: done |
| `enter` | the selected task: description, files, each attempt (`a`), prompt, log, diff |
| `d` | the selected task's diff |
| `w` | the agents' permission requests that wait: `y` allow once, `a` for the session, `n` deny |
| `m` / `i` | say a message to the selected task's agent / interrupt its turn |
| `[` `]` | previous / next agent log |
| `g` | the DAG pane: the graph ⇄ the wave table (same selected task) |
| `←` `→` (`h` `l`) | in the graph: to a dependency / to a dependent of the selected task |
| `↑` `↓` (`k` `j`) | in the graph: up and down the task's layer; in the table: the rows |
| `e` | in the graph: draw every line / only the selected task's |
| `v` | the running agents side by side, 2, 4 or 6 tiles (again: back) |
| `←→↑↓` `[` `]` `z` | in the tiles: move, turn the page, zoom the selected tile |
| `tab` | move between panes |
| `H` | past runs: the workspace's runs; `enter` opens one read-only (below) |
| `ctrl+p` | command palette: every action by name |
| `q` | quit; if agents run, stop them and leave the run to resume later |
| `?` | this help |

The board at the top shows the nine stages; **◆ APPROVE?** marks the one that waits.
In a past run (`H`, or `orchestrator-tui runs --open ID`): `←` `→` step through its event
log one event at a time, `<` `>` (or shift+arrows) jump from stage to stage, `B` `E` go to
the start and the end, `L` lists every event (enter goes to one); the board and the tasks
show the run as it was then (`h` `l` follow the graph's edges, `g` the table). `s` its
summary.md, `enter` a task, `esc` back to the list.

★ marks the critical path, ≈n the n-th group of tasks that may touch the same files. The
graph reads left to right: a column is a wave, a line runs from a task to what depends on
it. Edit PLAN.md or CLAUDE.md at any time: the app reloads them and says what changed;
an invalid plan shows a banner and the last good plan stays.
"""


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "help.tcss"
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog"):
            yield Markdown(HELP)

    def action_close(self) -> None:
        self.dismiss(None)
