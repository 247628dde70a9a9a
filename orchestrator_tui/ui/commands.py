"""The same actions as the keys, in the command palette (ctrl+p)."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("Approve the waiting stage", "approve", "a"),
    ("Reject the waiting stage with feedback", "reject", "r"),
    ("Pause or resume the run", "pause", "p"),
    ("Retry the selected failed task", "retry", "R"),
    ("Skip the selected task", "skip", "s"),
    ("Take the selected running task over (again: done, merge your work)", "take_over", "t"),
    ("Show the selected task", "detail", "enter"),
    ("Show the selected task's diff", "diff", "d"),
    ("The DAG pane: graph or wave table", "toggle_dag", "g"),
    ("The running agents side by side (tiles) or one log", "toggle_tiles", "v"),
    ("Next agent log", "cycle_log(1)", "]"),
    ("Previous agent log", "cycle_log(-1)", "["),
    ("Past runs: any run read-only, with its timeline", "past_runs", "H"),
    ("Keys and help", "help", "?"),
    ("Quit (stop agents, keep the run resumable)", "request_quit", "q"),
)


class RunCommands(Provider):
    """Every run action by name."""

    async def discover(self) -> Hits:
        for title, action, key in ACTIONS:
            yield DiscoveryHit(title, partial(self.app.run_action, action), help=f"key: {key}")

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, action, key in ACTIONS:
            score = matcher.match(title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(title),
                    partial(self.app.run_action, action),
                    help=f"key: {key}",
                )
