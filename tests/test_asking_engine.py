"""The permission queue through the engine: a task's agent asks, and the answer comes from
another process (`orchestrator-tui allow/deny`), a rule, the timeout or nobody; say and
interrupt reach a running agent; a killed run's requests are withdrawn on resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from asking_support import Asker, ask_plan, asking_engine, wait_until
from engine_support import Background, Recorder, make_workspace

from orchestrator_tui.core import events as ev

pytestmark = pytest.mark.timeout(90)


def cli(workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestrator_tui", *args, "-C", str(workspace)],
        capture_output=True,
        text=True,
        timeout=30,
    )


def start_cli(workspace: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "orchestrator_tui", *args, "-C", str(workspace)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def asked(recorder: Recorder, request_id: str = "P1") -> ev.PermissionAsked:
    return recorder.wait_for(
        lambda e: isinstance(e, ev.PermissionAsked) and e.request_id == request_id, 30
    )


def test_allow_from_a_shell_reaches_the_waiting_agent(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws", ask_plan(("T1", ["Bash pytest -q"])))
    asker, recorder = Asker(), Recorder()
    engine = asking_engine(workspace, asker, recorder)
    with Background(engine) as run:
        request = asked(recorder)
        assert (request.task, request.tool, request.summary) == ("T1", "Bash", "pytest -q")
        listed = cli(workspace, "permissions", "--json")
        [row] = json.loads(listed.stdout)
        assert (row["id"], row["task"], row["tool"], row["summary"]) == (
            "P1",
            "T1",
            "Bash",
            "pytest -q",
        )
        assert "P1  T1  Bash pytest -q" in cli(workspace, "permissions").stdout
        answer = cli(workspace, "allow", "P1")
        assert answer.returncode == 0, answer.stderr
        assert answer.stdout.strip() == "done: P1 allowed (T1: Bash pytest -q)"
        assert run.result(30) == "complete"
    assert asker.log["T1"] == ["allow by cli: "]
    [answered] = recorder.of(ev.PermissionAnswered)
    assert (answered.request_id, answered.decision, answered.by) == ("P1", "allow", "cli")
    assert engine.state.permissions["P1"].status == "allowed"
    assert cli(workspace, "permissions").stdout.strip() == "no permission request waits"


def test_a_persons_no_reaches_the_agent_and_the_task_is_done_denied_by_the_user(
    tmp_path: Path,
) -> None:
    workspace = make_workspace(tmp_path / "ws", ask_plan(("T1", ["Bash make deploy"])))
    asker, recorder = Asker(), Recorder()
    with Background(asking_engine(workspace, asker, recorder)) as run:
        asked(recorder)
        answer = cli(workspace, "deny", "P1", "-m", "not on a Friday")
        assert answer.returncode == 0, answer.stderr
        assert run.result(30) == "complete"
    assert asker.log["T1"] == ["deny by cli: not on a Friday"]
    [finished] = [e for e in recorder.of(ev.TaskFinished) if e.task == "T1"]
    assert finished.status == "done"
    assert finished.reason == "denied by the user: Bash (make deploy)"


def test_two_answers_racing_from_two_processes_exactly_one_is_applied(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws", ask_plan(("T1", ["Bash pytest -q"])))
    asker, recorder = Asker(), Recorder()
    asker.hold.set()  # the agent stays after its answer: the engine hears both
    with Background(asking_engine(workspace, asker, recorder)) as run:
        asked(recorder)
        racers = [
            start_cli(workspace, "allow", "P1"),
            start_cli(workspace, "deny", "P1", "-m", "no"),
        ]
        outputs = [racer.communicate(timeout=30) for racer in racers]
        codes = sorted(racer.returncode for racer in racers)
        assert cli(workspace, "say", "T1", "done").returncode == 0
        assert run.result(30) == "complete"
    assert codes == [0, 1], outputs
    refused = [out[1] for out, racer in zip(outputs, racers, strict=True) if racer.returncode]
    assert refused and "P1 already answered" in refused[0], outputs
    answers = recorder.of(ev.PermissionAnswered)
    assert len(answers) == 1
    assert asker.log["T1"][1:] == ["said: done"]  # the agent heard one answer
    assert asker.log["T1"][0].startswith(f"{answers[0].decision} by cli")


def test_a_rule_allows_without_asking_and_a_deny_rule_refuses(tmp_path: Path) -> None:
    plan = ask_plan(("T1", ["Bash pytest -q tests", "Bash rm -rf build"]))
    workspace = make_workspace(tmp_path / "ws", plan)
    asker, recorder = Asker(), Recorder()
    rules = {"allow": ["Bash(pytest:*)", "Bash"], "deny": ["Bash(rm:*)"]}
    engine = asking_engine(workspace, asker, recorder, permissions=rules)
    with Background(engine) as run:
        assert run.result(30) == "complete"
    assert asker.log["T1"] == [
        "allow by rule: allowed by the rule Bash(pytest:*)",
        "deny by rule: denied by the rule Bash(rm:*) in [permissions] deny",
    ]
    assert [(e.request_id, e.by) for e in recorder.of(ev.PermissionAnswered)] == [
        ("P1", "rule"),
        ("P2", "rule"),
    ]
    assert not [p for p in engine.state.permissions.values() if p.waiting]


def test_an_unanswered_request_is_denied_after_the_timeout_with_the_reason(
    tmp_path: Path,
) -> None:
    workspace = make_workspace(tmp_path / "ws", ask_plan(("T1", ["Bash pytest -q"])))
    asker, recorder = Asker(), Recorder()
    settings = {"timeout": 1.0, "timeout_message": "nobody was there"}
    with Background(asking_engine(workspace, asker, recorder, permissions=settings)) as run:
        asked(recorder)
        assert run.result(30) == "complete"
    assert asker.log["T1"] == ["deny by timeout: nobody was there"]
    [answered] = recorder.of(ev.PermissionAnswered)
    assert answered.by == "timeout" and answered.decision == "deny"
    [finished] = [e for e in recorder.of(ev.TaskFinished) if e.task == "T1"]
    assert finished.reason == "ok"  # not a person's no


def test_headless_with_approve_all_never_waits_unless_a_rule_allows(tmp_path: Path) -> None:
    plan = ask_plan(("T1", ["Bash pytest -q", "Bash make deploy"]))
    workspace = make_workspace(tmp_path / "ws", plan)
    asker, recorder = Asker(), Recorder()
    engine = asking_engine(workspace, asker, recorder, permissions={"allow": ["Bash(pytest:*)"]})
    engine.desk.unattended = True  # what run_headless sets for --approve all
    with Background(engine) as run:
        assert run.result(30) == "complete"
    assert asker.log["T1"][0] == "allow by rule: allowed by the rule Bash(pytest:*)"
    assert asker.log["T1"][1].startswith("deny by unattended: no one is there to answer")


def test_two_agents_ask_at_once_and_both_wait_in_order(tmp_path: Path) -> None:
    plan = ask_plan(("T1", ["Bash pytest -q"]), ("T2", ["Bash ruff check ."]))
    workspace = make_workspace(tmp_path / "ws", plan)
    asker, recorder = Asker(), Recorder()
    with Background(asking_engine(workspace, asker, recorder)) as run:
        asked(recorder, "P1")
        asked(recorder, "P2")
        rows = json.loads(cli(workspace, "permissions", "--json").stdout)
        assert sorted(r["task"] for r in rows) == ["T1", "T2"]
        assert [r["id"] for r in rows] == ["P1", "P2"]  # oldest first
        for row in rows:
            assert cli(workspace, "allow", row["id"]).returncode == 0
        assert run.result(30) == "complete"
    assert asker.log == {"T1": ["allow by cli: "], "T2": ["allow by cli: "]}


KILLED_RUN = """
import sys, time
sys.path.insert(0, {tests!r})
from asking_support import Asker, asking_engine
from engine_support import Recorder
engine = asking_engine(__import__("pathlib").Path({workspace!r}), Asker(), Recorder())
engine.open()
engine.run()
"""


def test_a_killed_runs_requests_are_withdrawn_on_resume_and_the_rerun_asks_again(
    tmp_path: Path,
) -> None:
    from orchestrator_tui.infra.store import RunFiles, latest_run_id, read_events

    workspace = make_workspace(tmp_path / "ws", ask_plan(("T1", ["Bash pytest -q"])))
    code = KILLED_RUN.format(tests=str(Path(__file__).parent), workspace=str(workspace))
    killed = subprocess.Popen([sys.executable, "-c", code])
    try:

        def asked_in_log() -> bool:
            run_id = latest_run_id(workspace)
            if run_id is None or not RunFiles(workspace, run_id).events.exists():
                return False
            events = read_events(RunFiles(workspace, run_id).events, 0).events
            return any(isinstance(e, ev.PermissionAsked) for e in events)

        wait_until(asked_in_log, 60, "the request in the log")
    finally:
        killed.kill()
        killed.wait(10)
    asker, recorder = Asker(), Recorder()
    again = asking_engine(workspace, asker, recorder)
    with Background(again) as run:
        [withdrawn] = recorder.of(ev.PermissionWithdrawn)
        assert (withdrawn.request_id, withdrawn.reason) == (
            "P1",
            "the run stopped before an answer",
        )
        request = asked(recorder, "P2")
        assert request.task == "T1"
        assert "refused: P1 was withdrawn" in cli(workspace, "allow", "P1").stderr
        assert cli(workspace, "allow", "P2").returncode == 0
        assert run.result(30) == "complete"
    assert asker.log["T1"] == ["allow by cli: "]


def test_say_and_interrupt_reach_the_running_agent_and_are_recorded(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws", ask_plan(("T1", [])))
    asker, recorder = Asker(), Recorder()
    asker.hold.set()
    engine = asking_engine(workspace, asker, recorder)
    with Background(engine) as run:
        wait_until(lambda: "T1" in engine.desk.channels, what="the agent attached")
        said = cli(workspace, "say", "T1", "use", "the", "helper")
        assert said.returncode == 0 and said.stdout.strip() == "done: say T1: sent", said
        assert cli(workspace, "interrupt", "T1").returncode == 0
        nobody = cli(workspace, "say", "T9", "hello")
        assert nobody.returncode == 1 and "no task 'T9'" in nobody.stderr
        assert cli(workspace, "say", "T1", "done").returncode == 0
        assert run.result(30) == "complete"
    assert asker.log["T1"] == ["said: use the helper", "interrupted", "said: done"]
    told = [(e.action, e.text, e.by, e.ok) for e in recorder.of(ev.AgentTold)]
    assert told[:2] == [("say", "use the helper", "cli", True), ("interrupt", "", "cli", True)]
    lines = [line for e in recorder.of(ev.TaskOutput) if e.task == "T1" for line in e.lines]
    assert "» cli: use the helper" in lines and "» interrupted by cli" in lines


def test_a_waiting_request_rings_the_notify_command(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws", ask_plan(("T3", ["Bash pytest -q"])))
    said = tmp_path / "said.txt"
    script = tmp_path / "notify.sh"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> {said}\n')
    os.chmod(script, 0o755)
    asker, recorder = Asker(), Recorder()
    engine = asking_engine(workspace, asker, recorder, notify={"command": [str(script)]})
    with Background(engine) as run:
        asked(recorder)
        wait_until(lambda: said.exists() and said.read_text(), what="the notify command")
        assert cli(workspace, "allow", "P1").returncode == 0
        assert run.result(30) == "complete"
    assert said.read_text().splitlines()[0] == "T3 waits for you: Bash pytest -q (P1)"
