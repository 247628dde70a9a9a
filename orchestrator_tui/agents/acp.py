"""Agents over the Agent Client Protocol (`backend = "acp"`, `command = ["claude-agent-acp"]`,
`["codex-acp"]`, `["gemini", "--acp"]`), through the `agent-client-protocol` package.

One run: start the command in its own process group (stdin/stdout carry JSON-RPC, stderr is
drained by us — the package's spawn_agent_process leaves it an undrained pipe), `initialize`,
`authenticate` when the agent offers a method whose key is in the environment (gemini:
GEMINI_API_KEY), `session/new` in the task's worktree (or `session/resume`/`session/load`
of `resume_session`), the profile's `permission_mode` as the session mode when the agent
has it, then `session/prompt`. Updates become the lines every backend shows (acp_view.py).

`session/request_permission` goes to the permission queue through the reporter's
`ask(request, reply)` (engine/asking.py); the answer picks an option by kind. With no
one to ask the request is refused. While a request waits the timeout and stall clocks stop.
`say` (from the queue's Channel) queues a message sent as the next prompt when the turn
ends; `interrupt` sends `session/cancel` and waits for the next message. Cancel and timeout:
`session/cancel`, a short grace, then the whole process group (npm bins are node wrappers).

Every JSON-RPC message and stderr line goes to the task's log (redacted with run.redact);
the pidfile lets the next start kill a group an orchestrator that died left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from typing import IO, Any

from ..core.config import AgentProfile
from ..core.protocols import AgentEvents, AgentJob, AgentResult
from ..core.redact import mask_text
from . import procgroup
from .acp_asking import Asking, Client, error_text
from .acp_view import AcpView, dump, prompt_tokens
from .base import clip
from .procgroup import ProcessGroup
from .redact import redact_secrets
from .spec import clip_display, describe_argv, find_executable, merged_env

STREAM_LIMIT = 50 * 1024 * 1024
TICK = 0.05
CANCEL_GRACE = 2.0
# ACP auth method ids → the variable that holds their key
AUTH_KEYS = {
    "gemini-api-key": "GEMINI_API_KEY",
    "openai-api-key": "OPENAI_API_KEY",
    "codex-api-key": "CODEX_API_KEY",
}
# the profile's permission_mode → session mode ids that mean the same in other agents
MODE_ALIASES = {"acceptEdits": ("acceptEdits", "autoEdit", "auto_edit", "auto-edit")}


class AcpBackend:
    """Runs in a thread of its own (`run`): its asyncio loop waits on the agent's pipes."""

    def __init__(self, profile_name: str, profile: AgentProfile) -> None:
        self.profile_name = profile_name
        self.profile = profile

    def env(self, job: AgentJob) -> dict[str, str]:
        info = {
            "ORCH_RUN_ID": job.run_id,
            "ORCH_TASK_ID": job.task.id,
            "ORCH_PROMPT_FILE": str(job.prompt_file),
            "ORCH_WORKDIR": str(job.workdir),
        }
        return merged_env(info, self.profile.env, job.env)

    def argv(self, job: AgentJob) -> list[str]:
        base = list(self.profile.command) or (
            [self.profile.executable] if self.profile.executable else []
        )
        return [*base, *self.profile.args]

    def run(self, job: AgentJob, events: AgentEvents, cancel: threading.Event) -> AgentResult:
        argv = self.argv(job)
        env = self.env(job)
        problem = ""
        if not argv:
            problem = (
                f'profile {self.profile_name!r}: set command = [...] (e.g. ["claude-agent-acp"])'
            )
        elif find_executable(argv[0], env, job.workdir) is None:
            problem = (
                f"executable not found: {argv[0]} "
                f"(set agents.{self.profile_name}.command in .orchestrator/config.toml)"
            )
        elif not job.workdir.is_dir():
            problem = f"working directory {job.workdir} does not exist"
        if problem:  # only a missing working directory is worth another attempt
            events.output([f"[orchestrator] {problem}"])
            retryable = problem.startswith("working directory")
            return AgentResult(ok=False, reason=problem, exit_code=None, retryable=retryable)
        return asyncio.run(AcpRun(self, job, events, cancel, argv, env).main())


class AcpRun(Asking):
    """One agent process and its session, on an asyncio loop in the backend's thread."""

    def __init__(
        self,
        backend: AcpBackend,
        job: AgentJob,
        events: AgentEvents,
        cancel: threading.Event,
        argv: list[str],
        env: dict[str, str],
    ) -> None:
        self.backend, self.job, self.events, self.cancel = backend, job, events, cancel
        self.argv, self.env = argv, env
        self.view = AcpView(job.workdir)
        self.lock = threading.Lock()
        self.pending_lines: list[str] = []
        self.log: IO[bytes] | None = None
        self.last_output = time.monotonic()
        self.stderr_tail: list[str] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        self.messages: asyncio.Queue[str] | None = None
        self.waiting: dict[int, asyncio.Future[Any]] = {}
        self.asked = 0
        self.session_id = ""
        self.in_turn = False
        self.interrupted = False
        self.idle = False  # interrupted, waiting for the person's next message
        self.ended = False
        self.session_allowed: set[str] = set()
        self.denied_by_user: list[str] = []
        self.denied: list[str] = []
        self.stop_reason = ""
        self.error = ""
        self.stopping = ""  # "cancelled" / "timeout after N s"
        self.init_info: dict[str, Any] = {}
        self.conn: Any = None
        self.cancelling: asyncio.Future[Any] | None = None

    # ---- output and the log -----------------------------------------------------------

    def show(self, lines: list[str]) -> None:
        """Lines for the views: always masked (run.redact is about the log), capped."""
        lines = [clip_display(mask_text(line)) for line in lines]
        with self.lock:
            self.pending_lines.extend(lines)
            self.last_output = time.monotonic()

    def flush(self) -> None:
        with self.lock:
            lines, self.pending_lines = self.pending_lines, []
        if lines:
            self.events.output(lines)

    def write_log(self, text: str) -> None:
        data = (text.rstrip("\n") + "\n").encode("utf-8", "replace")
        if self.job.redact:
            data = redact_secrets(data)
        with self.lock:
            self.last_output = time.monotonic()
            if self.log is not None:
                self.log.write(data)

    def observe(self, event: Any) -> None:
        arrow = "←" if event.direction.value == "incoming" else "→"
        self.write_log(f"{arrow} {json.dumps(event.message, ensure_ascii=False)}")

    async def drain_stderr(self, stream: asyncio.StreamReader) -> None:
        while True:
            try:
                raw = await stream.readline()
            except (ValueError, asyncio.LimitOverrunError):
                continue
            if not raw:
                return
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.write_log(f"[stderr] {text}")
            if text.strip():
                with self.lock:
                    self.stderr_tail = [*self.stderr_tail[-9:], text[:500]]

    # ---- the run --------------------------------------------------------------------

    async def main(self) -> AgentResult:
        self.loop = asyncio.get_running_loop()
        self.messages = asyncio.Queue()
        job = self.job
        job.log_path.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with job.log_path.open("ab") as log:
            self.log = log
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            label = f"{job.task.id} attempt {job.attempt} ({self.backend.profile_name})"
            self.write_log(f"=== {stamp} {label} $ {describe_argv(self.argv)}  (in {job.workdir})")
            try:
                code = await self.supervise()
            finally:
                self.flush()
                self.write_log(
                    f"=== {self.stopping or self.stop_reason or self.error or 'ended'}"
                    f" after {time.monotonic() - started:.1f} s"
                )
                self.log = None
        return self.result(code)

    async def supervise(self) -> int | None:
        import acp

        pidfile = self.job.log_path.with_suffix(".pid")
        leftovers = procgroup.kill_leftovers(pidfile)
        if leftovers:
            self.events.notice(
                "warning", f"killed {leftovers} process(es) left from an earlier attempt"
            )
        token = procgroup.new_token()
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=self.job.workdir,
                env={**self.env, procgroup.TOKEN_VARIABLE: token},
                start_new_session=True,
                limit=STREAM_LIMIT,
            )
        except OSError as exc:
            self.error = f"could not start {self.argv[0]}: {exc.strerror or exc}"
            self.show([f"[orchestrator] {self.error}"])
            return None
        procgroup.write_pidfile(pidfile, proc.pid, token)
        group = ProcessGroup(None, proc.pid)
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        stderr = asyncio.create_task(self.drain_stderr(proc.stderr))
        conn = acp.connect_to_agent(Client(self), proc.stdin, proc.stdout, observers=[self.observe])
        self.conn = conn
        attach = getattr(self.events, "attach", None)
        if attach is not None:
            attach(self)
        work = asyncio.create_task(self.converse(conn))
        exited = asyncio.create_task(proc.wait())
        try:
            await self.watch(work, exited, conn)
        finally:
            detach = getattr(self.events, "detach", None)
            if detach is not None:
                detach(self)
            self.ended = True
            self.release_waiting()
            for task in (work,):
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 1.0)
            await asyncio.get_running_loop().run_in_executor(None, group.kill)
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(asyncio.gather(stderr, exited), 2.0)
            procgroup.remove_pidfile(pidfile)
        return proc.returncode

    async def watch(self, work: asyncio.Task[None], exited: asyncio.Task[int], conn: Any) -> None:
        """Output flushes, cancel, timeout (not while a request waits) and stall warnings."""
        job = self.job
        clock = ticked = time.monotonic()
        warned_at = 0.0
        stop_at = 0.0
        while not work.done():
            await asyncio.wait({work, exited}, timeout=TICK)
            self.flush()
            now = time.monotonic()
            if exited.done() and not work.done():
                await asyncio.wait({work}, timeout=0.5)  # its last words, then we are done
                return
            if self.holding():
                clock += now - ticked
                with self.lock:
                    self.last_output = now
            ticked = now
            if not self.stopping:
                if self.cancel.is_set():
                    self.stopping = "cancelled"
                elif now - clock > job.timeout:
                    self.stopping = f"timeout after {job.timeout:g} s"
                if self.stopping:
                    stop_at = now + CANCEL_GRACE
                    self.release_waiting()
                    if self.session_id:
                        with contextlib.suppress(Exception):
                            await asyncio.wait_for(conn.cancel(session_id=self.session_id), 0.5)
            elif now > stop_at:
                return
            silent_for = now - self.last_output
            if silent_for > job.stall_after and self.last_output != warned_at:
                warned_at = self.last_output
                self.events.notice(
                    "warning", f"no output for {silent_for:.0f} s: the agent may be stalled"
                )

    async def converse(self, conn: Any) -> None:
        import acp
        from acp.schema import ClientCapabilities, FileSystemCapabilities, Implementation

        from .. import __version__

        try:
            init = await conn.initialize(
                protocol_version=acp.PROTOCOL_VERSION,
                client_capabilities=ClientCapabilities(
                    fs=FileSystemCapabilities(read_text_file=False, write_text_file=False),
                    terminal=False,
                ),
                client_info=Implementation(name="orchestrator-tui", version=__version__),
            )
            self.init_info = dump(init)
            agent = self.init_info.get("agentInfo") or {}
            for method in self.init_info.get("authMethods") or []:
                key = AUTH_KEYS.get(str(method.get("id")))
                if key and self.env.get(key):
                    await conn.authenticate(method_id=str(method["id"]))
                    break
            await self.open_session(conn)
            name, version = agent.get("name", "acp"), agent.get("version", "")
            self.show([f"● {name} {version} · session {self.session_id}"])
            text = self.job.prompt
            while True:
                self.in_turn, self.idle = True, False
                self.view.new_turn()
                response = await conn.prompt(
                    session_id=self.session_id, prompt=[acp.text_block(text)]
                )
                self.in_turn = False
                self.turn_ended(dump(response))
                if self.stopping:
                    return
                if self.interrupted:
                    self.interrupted, self.idle = False, True
                    assert self.messages is not None
                    text = await self.messages.get()
                    continue
                queued = self.take_messages()
                if not queued:
                    return
                text = queued
        except acp.RequestError as exc:
            self.error = f"agent reported error: {clip(error_text(exc), 240)}"
            self.show([f"✗ {self.error}"])
        except ConnectionError:
            pass  # the agent went away: its exit says why (result)

    async def open_session(self, conn: Any) -> None:
        job = self.job
        cwd = str(job.workdir.resolve())
        caps = self.init_info.get("agentCapabilities") or {}
        session_caps = caps.get("sessionCapabilities") or {}
        response: Any = None
        if job.resume_session and "resume" in session_caps:
            response = await conn.resume_session(
                session_id=job.resume_session, cwd=cwd, mcp_servers=[]
            )
            self.session_id = job.resume_session
        elif job.resume_session and caps.get("loadSession"):
            response = await conn.load_session(
                session_id=job.resume_session, cwd=cwd, mcp_servers=[]
            )
            self.session_id = job.resume_session
        else:
            if job.resume_session:
                self.show([f"[orchestrator] {self.argv[0]} cannot resume a session: a new one"])
            response = await conn.new_session(cwd=cwd, mcp_servers=[])
            self.session_id = response.session_id
        self.view.flush()  # a loaded session replays its history: not this run's output
        await self.set_mode(conn, dump(response) if response is not None else {})

    async def set_mode(self, conn: Any, session: dict[str, Any]) -> None:
        import acp

        wanted = self.backend.profile.permission_mode
        modes = session.get("modes") or {}
        available = [str(m.get("id")) for m in modes.get("availableModes") or []]
        for mode in MODE_ALIASES.get(wanted, (wanted,)) if wanted else ():
            if mode in available:
                if mode == modes.get("currentModeId"):
                    return
                try:
                    await conn.set_session_mode(session_id=self.session_id, mode_id=mode)
                except acp.RequestError as exc:  # e.g. gemini in a folder it does not trust
                    self.show([f"[orchestrator] session mode {mode} refused: {error_text(exc)}"])
                return

    def turn_ended(self, response: dict[str, Any]) -> None:
        self.stop_reason = str(response.get("stopReason") or "")
        used_in, used_out = prompt_tokens(response)
        cost = self.view.cost_increment()
        if used_in or used_out or cost:
            self.events.usage(used_in, used_out, cost)
        lines = self.view.flush()
        lines.append(
            f"■ {self.stop_reason} · {used_in} in / {used_out} out tokens · ${self.view.cost:.4f}"
        )
        self.show(lines)
