"""The simulated backend: a scripted, deterministic agent for the demo and the tests.

No LLM and no subprocess: per task it waits, prints lines, reports tokens and cost, may
write files into its working directory, and fails its first N attempts when told to.
The script is a TOML file named by the profile's `script` key:

    [defaults]                # every key optional
    duration = 1.5            # seconds (divided by the profile's `speed`)
    lines = 6
    input_tokens = 1500
    output_tokens = 400
    cost_usd = 0.012

    [tasks.T3]
    duration = 2.0
    fail_attempts = 1         # the first attempt fails, the retry succeeds
    exit_code = 1
    output = ["Reading src/app.py", "Writing the parser"]
    write = { "src/parser.py" = "def parse(): ..." }
"""

from __future__ import annotations

import random
import threading
import time
import tomllib
from pathlib import Path
from typing import Any

from ..core.config import AgentProfile
from ..core.protocols import AgentEvents, AgentJob, AgentResult

DEFAULTS: dict[str, Any] = {
    "duration": 1.5,
    "lines": 6,
    "input_tokens": 1500,
    "output_tokens": 400,
    "cost_usd": 0.012,
    "fail_attempts": 0,
    "exit_code": 1,
    "output": [],
    "write": {},
}
VERBS = ("Reading", "Planning", "Editing", "Writing", "Checking", "Running tests for")


class ScriptError(ValueError):
    """The simulation script is unreadable or has a bad value."""


def load_script(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ScriptError(f"simulation script {path}: {exc}") from None


class SimulatedBackend:
    """Labelled as simulated everywhere it shows: its lines start with '[sim]'."""

    def __init__(self, profile: AgentProfile, workspace: Path | None = None) -> None:
        self.profile = profile
        script_path = None
        if profile.script:
            script_path = Path(profile.script)
            if not script_path.is_absolute() and workspace is not None:
                script_path = workspace / script_path
        self.script = load_script(script_path)

    def behaviour(self, task_id: str) -> dict[str, Any]:
        merged = {**DEFAULTS, **self.script.get("defaults", {})}
        merged.update(self.script.get("tasks", {}).get(task_id, {}))
        return merged

    def run(self, job: AgentJob, events: AgentEvents, cancel: threading.Event) -> AgentResult:
        plan = self.behaviour(job.task.id)
        rng = random.Random(f"{self.profile.seed}:{job.task.id}:{job.attempt}")
        duration = float(plan["duration"]) * rng.uniform(0.7, 1.3) / self.profile.speed
        lines = list(plan["output"]) or [
            f"{rng.choice(VERBS)} {rng.choice(job.task.files or ('the code',))}"
            for _ in range(int(plan["lines"]))
        ]
        failing = job.attempt <= int(plan["fail_attempts"])
        script = [f"[sim] {job.task.id} attempt {job.attempt}: {job.task.title}", *lines]
        step = duration / max(len(script), 1)
        started = time.monotonic()
        with job.log_path.open("a", encoding="utf-8") as log:
            for line in script:
                if cancel.wait(step):
                    log.write("[sim] cancelled\n")
                    return AgentResult(ok=False, reason="cancelled", exit_code=None)
                if time.monotonic() - started > job.timeout:
                    return AgentResult(ok=False, reason="timeout", exit_code=None)
                log.write(line + "\n")
                log.flush()
                events.output([line])
            share = 0.5 if failing else 1.0
            events.usage(
                int(plan["input_tokens"] * share),
                int(plan["output_tokens"] * share),
                float(plan["cost_usd"]) * share,
            )
            if failing:
                log.write(f"[sim] failing attempt {job.attempt} on purpose\n")
                events.output([f"[sim] error: attempt {job.attempt} fails as scripted"])
                code = int(plan["exit_code"])
                return AgentResult(ok=False, reason=f"exit {code}", exit_code=code)
            written = self.write_files(job.workdir, plan["write"])
            for path in written:
                events.output([f"[sim] wrote {path}"])
        return AgentResult(ok=True, exit_code=0, final_text="done", files=tuple(written))

    @staticmethod
    def write_files(workdir: Path, files: dict[str, str]) -> list[str]:
        written = []
        root = workdir.resolve()
        for relative, content in files.items():
            target = (root / relative).resolve()
            if not target.is_relative_to(root):
                raise ScriptError(f"refusing to write outside the workspace: {relative}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
            written.append(relative)
        return written
