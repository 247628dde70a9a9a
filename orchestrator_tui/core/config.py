""".orchestrator/config.toml → Config, and the commented template that `init` writes.

Every key is a pydantic field whose description is the comment in the template, so the
template and the model cannot drift apart.
"""

from __future__ import annotations

import shlex
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import tomli_w
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from .models import StageName

CONFIG_PATH = Path(".orchestrator") / "config.toml"


def argv_of(value: Any) -> Any:
    """A command may be written as one string, split as a shell would split it (no shell
    runs it: `;` and `|` stay plain words); a list is taken as it is."""
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as exc:
            raise ValueError(f"cannot split {value!r} into words: {exc}") from None
    return value


Argv = Annotated[list[str], BeforeValidator(argv_of)]
BACKENDS = ("claude", "codex", "gemini", "aider", "acp", "command", "shell", "simulated")


class Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RunSettings(Section):
    plan: str = Field("PLAN.md", description="the plan file: PLAN.md, plan.toml or tasks.json")
    taskmaster_tag: str = Field(
        "", description="tasks.json: the Task Master tag to read; empty: its current tag"
    )
    concurrency: int = Field(4, ge=1, le=64, description="agents that may run at the same time")
    isolation: Literal["auto", "worktree", "none"] = Field(
        "auto",
        description='"worktree": a git worktree per task; "none": all in the workspace; '
        '"auto": worktrees when the workspace is a git repo',
    )
    copy_into_worktrees: list[str] = Field(
        [".env"], description="untracked files copied into every task's worktree"
    )
    stall_after: float = Field(
        120.0, gt=0, description="seconds without output before a stall warning"
    )
    task_timeout: float = Field(
        1800.0, gt=0, description="seconds before a task is killed (a task's `timeout` wins)"
    )
    retries: int = Field(
        1, ge=0, le=20, description="extra attempts of a failed task (a task's `retries` wins)"
    )
    retry_backoff: float = Field(
        2.0, ge=0, description="seconds before the first retry; doubles each attempt, max 60"
    )
    redact: bool = Field(
        True, description="mask strings that look like API keys in logs and reports"
    )
    executor: Literal["local", "ray"] = Field(
        "local",
        description='where implement tasks run: "local" (this machine) or "ray" (a Ray '
        "cluster; see [ray] and the README's Scale-out with Ray)",
    )


class GateSettings(Section):
    analyze: bool = Field(False, description="true: stop for approval after this stage")
    plan: bool = True
    parallel: bool = True
    implement: bool = True
    security: bool = True
    test: bool = True
    cleanup: bool = False
    review: bool = True
    complete: bool = False

    def stops_after(self, stage: StageName) -> bool:
        return bool(getattr(self, stage.value))


class AgentProfile(Section):
    backend: Literal[
        "claude", "codex", "gemini", "aider", "acp", "command", "shell", "simulated"
    ] = Field(
        "claude",
        description="claude | codex | gemini | aider | acp | command | shell | simulated",
    )
    executable: str = Field("", description="program to run; empty: the backend's usual name")
    model: str = Field("", description="model name passed to the CLI; empty: its default")
    permission_mode: str = Field("acceptEdits", description="claude: --permission-mode")
    allowed_tools: list[str] = Field(
        [], description='claude: --allowedTools, e.g. ["Write", "Bash(git *)"]'
    )
    max_turns: int = Field(0, ge=0, description="claude: --max-turns; 0: no limit")
    append_system_prompt: str = Field("", description="claude: --append-system-prompt")
    args: list[str] = Field([], description="extra arguments, appended to the argv")
    env: dict[str, str] = Field({}, description="extra environment variables")
    command: Argv = Field(
        [],
        description="command backend: argv template with {prompt_file}, {workdir}, {task_id}; "
        'acp backend: the agent program, e.g. ["claude-agent-acp"] or ["gemini", "--acp"]',
    )
    shell: bool = Field(False, description="shell backend: run `run:` lines through /bin/sh")
    script: str = Field("", description="simulated backend: a TOML script of per-task behaviour")
    seed: int = Field(0, description="simulated backend: seed for durations and output")
    speed: float = Field(
        1.0, gt=0, description="simulated backend: time factor (2.0 = twice as fast)"
    )


def default_profiles() -> dict[str, AgentProfile]:
    return {
        "claude": AgentProfile(),
        "simulated": AgentProfile(backend="simulated", permission_mode=""),
    }


class AgentsConfig(Section):
    default: str = Field("claude", description="profile used by tasks without `agent:`")
    profiles: dict[str, AgentProfile] = Field(default_factory=default_profiles)

    def profile(self, name: str | None) -> tuple[str, AgentProfile]:
        """The profile a task asks for; a bare backend name works as its own profile."""
        name = name or self.default
        if name in self.profiles:
            return name, self.profiles[name]
        if name in BACKENDS:
            return name, AgentProfile(backend=name)  # type: ignore[arg-type]
        known = ", ".join(sorted(self.profiles)) or "none"
        raise KeyError(f"unknown agent profile {name!r} (profiles: {known})")


class StageSettings(Section):
    command: Argv = Field(
        [],
        description="argv of the stage's tool, a list or one line split as a shell would "
        "(no shell runs it); empty: the built-in default",
    )
    agent: str = Field(
        "", description="profile of an agent that also works on this stage; empty: none"
    )
    timeout: float = Field(900.0, gt=0, description="seconds before the stage's command is killed")
    allow_high: bool = Field(False, description="security: let high findings be auto-approved")
    fix_rounds: int = Field(
        2, ge=0, description="test: send-back rounds (failures back to their tasks); 0: off"
    )


class BudgetSettings(Section):
    usd: float = Field(0.0, ge=0, description="run budget in USD; 0: no limit")
    tokens: int = Field(0, ge=0, description="run budget in tokens; 0: no limit")
    task_usd: float = Field(0.0, ge=0, description="per-task budget in USD; 0: no limit")
    task_tokens: int = Field(0, ge=0, description="per-task budget in tokens; 0: no limit")


class NotifySettings(Section):
    command: Argv = Field(
        [],
        description='run when a gate waits or a task fails, e.g. ["notify-send", "orch"]',
    )
    bell: bool = Field(True, description="ring the terminal bell too")


class PermissionSettings(Section):
    allow: list[str] = Field(
        [],
        description='tools allowed without asking, e.g. ["Bash(pytest:*)", "Bash(git status)"]',
    )
    deny: list[str] = Field(
        [], description='tools denied without asking (deny wins), e.g. ["Bash(rm:*)"]'
    )
    timeout: float = Field(
        900.0, ge=0, description="seconds a request waits for a person; 0: no limit"
    )
    on_timeout: Literal["deny", "allow"] = Field(
        "deny", description="what an unanswered request becomes after the timeout"
    )
    timeout_message: str = Field(
        "", description="the reason the agent gets then; empty: nobody answered within N s"
    )


class RaySettings(Section):
    address: str = Field(
        "auto", description='the cluster: "auto" (ray start on this machine), host:6379, ray://…'
    )
    resources: dict[str, float] = Field(
        {"agent": 1.0}, description="Ray resources one task attempt needs on its node"
    )
    num_cpus: float = Field(0.0, ge=0, description="CPUs one task attempt reserves")
    env: list[str] = Field(
        [],
        description="names of environment variables that travel to the workers (never "
        "credentials: names with KEY, TOKEN, SECRET or PASSWORD are refused)",
    )


class Config(Section):
    run: RunSettings = RunSettings()
    gates: GateSettings = GateSettings()
    agents: AgentsConfig = AgentsConfig()
    stages: dict[StageName, StageSettings] = {}
    budget: BudgetSettings = BudgetSettings()
    notify: NotifySettings = NotifySettings()
    ray: RaySettings = RaySettings()
    permissions: PermissionSettings = PermissionSettings()

    def stage(self, stage: StageName) -> StageSettings:
        return self.stages.get(stage, StageSettings())


class ConfigError(Exception):
    """config.toml is unreadable or invalid; the message names the file and the key."""


def load_config(workspace: Path) -> Config:
    """The workspace's config, or the defaults when it has none."""
    path = workspace / CONFIG_PATH
    if not path.exists():
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return config_from_dict(data, str(path))


def config_from_dict(data: dict[str, Any], source: str = "config.toml") -> Config:
    data = dict(data)
    agents = dict(data.get("agents", {}))
    if agents:
        default = agents.pop("default", "claude")
        data["agents"] = {"default": default, "profiles": {**default_profiles(), **agents}}
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'] if p != 'profiles')}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"{source}: {problems}") from None
    try:
        config.agents.profile(None)
    except KeyError as exc:
        raise ConfigError(f"{source}: agents.default: {exc.args[0]}") from None
    check_rules(config, source)
    return config


def check_rules(config: Config, source: str) -> None:
    from .permissions import parse_rule

    for key in ("allow", "deny"):
        for text in getattr(config.permissions, key):
            try:
                parse_rule(text)
            except ValueError as exc:
                raise ConfigError(f"{source}: permissions.{key}: {exc}") from None


def comment_lines(text: str | None) -> list[str]:
    return [f"# {text}"] if text else []


def toml_value(value: Any) -> str:
    """A value as inline TOML, so that lists and tables stay on the key's line."""
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{toml_value(k)} = {toml_value(v)}" for k, v in value.items())
        return "{ " + items + " }" if items else "{}"
    return tomli_w.dumps({"v": value}).strip().removeprefix("v = ")


def section_lines(header: str, model: BaseModel, keys: tuple[str, ...] = ()) -> list[str]:
    """One TOML table with a comment above each key, from the model's field descriptions."""
    lines = [f"[{header}]"]
    for name, field in type(model).model_fields.items():
        if keys and name not in keys:
            continue
        lines += comment_lines(field.description)
        lines.append(f"{name} = {toml_value(getattr(model, name))}")
    return [*lines, ""]


def config_template(default_agent: str = "claude") -> str:
    """The config.toml that `init` writes: every key, its default and what it does."""
    lines = [
        "# orchestrator-tui configuration. Every key is shown with its default.",
        "# Docs: README.md in the orchestrator-tui repository.",
        "",
        *section_lines("run", RunSettings()),
        *section_lines("gates", GateSettings()),
        "[agents]",
        "# profile used by tasks without `agent:`; a task picks another with `agent: NAME`",
        tomli_w.dumps({"default": default_agent}).strip(),
        "",
    ]
    profiles = default_profiles()
    lines += section_lines("agents.claude", profiles["claude"])
    lines += ["# The built-in scripted agent of the demo and the tests (no LLM)."]
    lines += section_lines("agents.simulated", profiles["simulated"], ("backend", "seed", "speed"))
    lines += [
        "# Per-stage settings: [stages.security], [stages.test], [stages.cleanup], …",
        *section_lines("stages.test", StageSettings()),
        *section_lines("budget", BudgetSettings()),
        *section_lines("notify", NotifySettings()),
        "# What agents may do without asking, and what an unanswered request becomes",
        *section_lines("permissions", PermissionSettings()),
        "# Scale-out (run.executor = \"ray\"): pip install 'orchestrator-tui[ray]'",
        *section_lines("ray", RaySettings()),
    ]
    return "\n".join(lines)
