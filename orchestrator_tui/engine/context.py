"""What the engine's parts (implement, parallel, commands, reload, agent jobs) may use of the
engine: a protocol, so that they never import the loop that imports them."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from ..core import events as ev
from ..core.config import Config
from ..core.decisions import Reply
from ..core.models import Plan
from ..core.protocols import BackendFactory, ProgramLocator, TaskIsolation
from ..core.state import RunState
from ..core.system import SystemFile
from ..infra.notify import Notifier
from ..infra.session import Inbox
from ..infra.store import RunFiles
from .inputs import AgentExited, Input
from .output import OutputBuffers


class RunningTasks(Protocol):
    """The implement stage while it runs (implement.py's Implementer)."""

    running: Mapping[str, object]
    plan: Plan
    taking: set[str]

    def carry_out(self, reply: Reply) -> None: ...

    def on_exit(self, item: AgentExited) -> None: ...

    def plan_changed(self, plan: Plan) -> None: ...


class PermissionDesk(Protocol):
    """The permission queue and the line to running agents (asking.py)."""

    def ask(self, task: str, attempt: int, request: Any, reply: Callable[[Any], None]) -> str: ...

    def withdraw(self, request_id: str, reason: str) -> None: ...

    def ended(self, task: str, attempt: int) -> None: ...

    def attach(self, task: str, channel: Any) -> None: ...

    def detach(self, task: str, channel: Any) -> None: ...


class Cancelled(Exception):
    """The user cancelled the run, or asked the engine to stop (resumable)."""


class Options(Protocol):
    workspace: Path
    config: Config
    poll_interval: float
    extra_env: Mapping[str, str]

    @property
    def plan_path(self) -> Path: ...


class EngineCore(Protocol):
    options: Options
    config: Config
    state: RunState
    plan: Plan | None
    system: SystemFile
    files: RunFiles | None
    inbox: Inbox
    notifier: Notifier
    output: OutputBuffers
    backends: BackendFactory
    programs: ProgramLocator | None  # None: agent programs are not looked up
    isolation_factory: Callable[[Path, str, Config], TaskIsolation]
    implementer: RunningTasks | None
    desk: PermissionDesk
    stopping: threading.Event
    cancelled: bool
    changed_files: set[str]
    plan_edited_at_gate: bool

    @property
    def concurrency(self) -> int: ...

    @property
    def system_path(self) -> Path: ...

    def post(self, item: Input) -> None: ...

    def emit(self, event: ev.EventBase) -> None: ...

    def batch(self) -> contextlib.AbstractContextManager[None]: ...

    def emit_all(self, events: Sequence[ev.EventBase]) -> None: ...

    def changed_tasks(self) -> set[str] | None: ...

    def notice(self, level: str, text: str) -> None: ...

    def pump(self, timeout: float, stoppable: bool = True) -> str | None: ...

    def save_frozen_plan(self, plan: Plan) -> None: ...
