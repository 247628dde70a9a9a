"""Issue 13, what to build 4: a task's whole history — the detail screen shows each attempt
(why it ran, what a send-back told it, how it ended, which merge is its)."""

from __future__ import annotations

from pathlib import Path

from app_support import T0, fake_app, mid_implement, run_async, select, stamped, wait_until

from orchestrator_tui.core import events as ev
from orchestrator_tui.core.models import StageName
from orchestrator_tui.core.state import replay
from orchestrator_tui.ui.app import feed
from orchestrator_tui.ui.screens.task_detail import TaskDetailScreen, attempts_text

FAILURE = (
    "Sent back from the test stage (fix round 1). You own these failures.\n\n"
    "### test_mul (tests/test_mul.py)\n```\nassert 5 == 6\n```"
)


def sent_back_twice() -> list[ev.EventBase]:
    """T1 merges its feature, is sent back from the test gate, fails once (retried), then
    merges its fix."""
    return [
        *mid_implement(),
        ev.FixRoundStarted(stage=StageName.TEST, round=1, tasks=("T1",), feedback={"T1": FAILURE}),
        ev.TaskReset(task="T1", reason="sent back from test (round 1)", at=T0 + 200),
        ev.TaskStarted(task="T1", attempt=2, agent="claude", workdir="/w/T1", at=T0 + 201),
        ev.TaskUsage(task="T1", input_tokens=100, output_tokens=10, cost_usd=0.5, at=T0 + 205),
        ev.TaskFinished(
            task="T1",
            status="failed",
            reason="exit 3",
            exit_code=3,
            attempt=2,
            will_retry=True,
            at=T0 + 210,
        ),
        ev.TaskStarted(task="T1", attempt=3, agent="claude", workdir="/w/T1", at=T0 + 220),
        ev.TaskMerged(task="T1", commit="9b8c7d6", at=T0 + 230),
        ev.TaskFinished(
            task="T1",
            status="done",
            exit_code=0,
            attempt=3,
            files=("src/calc.py",),
            at=T0 + 230,
        ),
    ]


def test_each_attempt_is_recorded_with_why_it_ran_and_what_it_merged() -> None:
    task = replay(stamped(sent_back_twice())).tasks["T1"]
    first, second, third = task.attempts
    assert (first.number, first.status, first.commit, first.why) == (1, "done", "4f2a9c1", "")
    assert first.cost_usd == 0.0831 and first.feedback == ""
    assert second.why == "sent back from test (round 1)" and "assert 5 == 6" in second.feedback
    assert (second.status, second.exit_code, second.commit) == ("failed, retried", 3, "")
    assert second.cost_usd == 0.5 and second.duration == 9
    assert third.why == "exit 3" and "assert 5 == 6" in third.feedback  # still owed
    assert (third.status, third.commit, third.files) == ("done", "9b8c7d6", ("src/calc.py",))
    assert task.commits == ("4f2a9c1", "9b8c7d6") and task.cost_usd == 0.5831
    assert task.fix_feedback == ""  # done: nothing owed any more


def test_the_attempts_text_shows_each_attempt_and_its_merge() -> None:
    task = replay(stamped(sent_back_twice())).tasks["T1"]
    text = attempts_text(task)
    assert text.startswith("## 3 attempts")
    assert text.index("### Attempt 3") < text.index("### Attempt 2") < text.index("### Attempt 1")
    assert "9b8c7d6 (diff tab: merge 2 of 2)" in text and "4f2a9c1 (diff tab: merge 1 of 2)" in text
    assert "sent back from test (round 1)" in text and "failed, retried" in text
    # the send-back text keeps its own ``` fences inside a longer one
    assert "````text\nSent back from the test stage" in text and "```\nassert 5 == 6\n```" in text
    assert text.count("Sent back from the test stage") == 1  # attempt 3: "the same as 2"
    assert "*Sent back with the same text as attempt 2.*" in text
    fresh = replay(stamped(mid_implement())).tasks["T5"]
    assert attempts_text(fresh) == "*Not run yet.*"


@run_async
async def test_the_detail_screen_shows_each_attempt_on_a(tmp_path: Path) -> None:
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    async with app.run_test(size=(120, 40)) as pilot:
        feed(app, stamped(sent_back_twice()))
        await select(pilot, app, "T1")
        await pilot.press("enter", "a")
        screen = app.screen
        assert isinstance(screen, TaskDetailScreen)
        await wait_until(pilot, lambda: screen.query_one("TabbedContent").active == "attempts")
        source = screen.query_one("#attempts-text").source
        assert "### Attempt 1: done" in source and "### Attempt 3: done" in source
        assert "sent back from test" in source
