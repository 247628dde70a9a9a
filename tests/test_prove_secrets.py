"""Prove it: key-like strings an agent prints are masked in the app's feed, the monitor,
the event log and summary.md; the raw task log keeps them only with run.redact = false."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from engine_support import Background, Recorder, engine_for

from orchestrator_tui.core import events as ev
from orchestrator_tui.core.config import config_from_dict
from orchestrator_tui.core.redact import SecretMasker, mask_text
from orchestrator_tui.monitor.follower import newest_line

SECRETS = {
    "anthropic": "sk-ant-api03-" + "A1b2C3d4E5f6G7h8" * 3,
    "aws": "AKIA" + "ABCDEFGHIJKLMNOP",
    "github": "ghp_" + "x1Y2z3" * 6,
}
KEY_BODY = "MIIEowIBAAKCAQEAz8Lq7J4n5QpZ0mB8kW1vG3pE6tYhR2uN9cD4fA7sX0yK3mL8"
PRIVATE_KEY = f"-----BEGIN RSA PRIVATE KEY-----\n{KEY_BODY}\n-----END RSA PRIVATE KEY-----"
LEAK = f"""
import sys
print("working")
print("key: {SECRETS["anthropic"]} aws {SECRETS["aws"]}")
print("token={SECRETS["github"]}", file=sys.stderr)
print('''{PRIVATE_KEY}''')
print("done")
"""
PLAN = "# Plan: Leak\n\n## T1: Leaky task\ndepends: none\nrun: python3 leak.py\n"


def raw(text: str) -> list[str]:
    return [name for name, value in {**SECRETS, "key": KEY_BODY}.items() if value in text]


@pytest.mark.parametrize("redact", [True, False])
def test_secrets_are_masked_everywhere_but_a_raw_log(tmp_path: Path, redact: bool) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "PLAN.md").write_text(PLAN)
    (workspace / "leak.py").write_text(LEAK)
    subprocess.run(["git", "init", "-q"], cwd=workspace, check=True, timeout=30)
    config = config_from_dict({
        "agents": {"default": "sh", "sh": {"backend": "shell"}},
        "run": {"isolation": "none", "redact": redact},
    })  # fmt: skip
    recorder = Recorder()
    engine = engine_for(workspace, config, recorder)
    with Background(engine) as run:
        gate = recorder.wait_for(lambda e: isinstance(e, ev.GateOpened), timeout=60)
        assert gate.stage == "security"  # leak.py itself holds the keys: the scan sees them
        assert raw(gate.summary) == []
        engine.submit("approve")
        assert run.result(timeout=60) == "complete"
    shown = "\n".join(line for e in recorder.of(ev.TaskOutput) for line in e.lines)
    assert "working" in shown and "done" in shown
    assert raw(shown) == []  # the app's feed
    files = engine.files
    assert raw(files.events.read_text()) == []
    assert raw(files.report("summary.md").read_text()) == []
    assert raw(files.report("security.sarif").read_text()) == []
    log = files.log("T1").read_text()
    assert raw(newest_line(files.log("T1"))) == []
    if redact:
        assert raw(log) == []
        assert "sk-ant-[redacted]" in log and "[redacted private key]" in log
    else:
        assert sorted(raw(log)) == sorted([*SECRETS, "key"])


def test_the_monitor_never_shows_a_key_from_a_raw_log(tmp_path: Path) -> None:
    log = tmp_path / "T1.log"
    log.write_text(f"start\n{PRIVATE_KEY}\n")
    assert raw(newest_line(log)) == []
    log.write_text(f"{KEY_BODY}\n-----END RSA PRIVATE KEY-----\n")  # tail starts inside
    assert newest_line(log) == ""
    log.write_text(f"export KEY={SECRETS['anthropic']}\n")
    assert newest_line(log) == "export KEY=sk-ant-[redacted]"


def test_masking_rules() -> None:
    masker = SecretMasker()
    lines = [masker.text(line) for line in ["a", *PRIVATE_KEY.splitlines(), "b"]]
    assert lines == ["a", "[redacted private key]", None, "[redacted private key]", "b"]
    for value in SECRETS.values():
        assert value not in mask_text(f"x {value} y")
    assert mask_text("sk-short and AKIA123") == "sk-short and AKIA123"  # not keys
