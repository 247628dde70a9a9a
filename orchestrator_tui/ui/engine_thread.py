"""The one thread the engine runs in, owned by the app.

A plain thread (not a Textual worker) so that `run_app` can join it after the app has
gone: a quit leaves the run resumable only once the engine has stopped its agents and
written its state. How the run ended — or the exception that killed the engine — is
posted to the app as `EngineThread.Finished`, and kept here for `run_app`.
"""

from __future__ import annotations

import threading
import traceback

from textual.app import App
from textual.message import Message

from .handle import EngineHandle


class EngineThread:
    class Finished(Message):
        """The engine's run() returned (outcome, '' when stopped) or raised (error)."""

        def __init__(self, outcome: str, error: BaseException | None, trace: str) -> None:
            super().__init__()
            self.outcome = outcome
            self.error = error
            self.trace = trace

    def __init__(self, app: App[object], engine: EngineHandle) -> None:
        self.app = app
        self.engine = engine
        self.outcome = ""
        self.error: BaseException | None = None
        self.trace = ""
        self.thread = threading.Thread(target=self.work, name="engine", daemon=False)

    @property
    def started(self) -> bool:
        return self.thread.ident is not None

    @property
    def alive(self) -> bool:
        return self.thread.is_alive()

    def start(self) -> None:
        self.thread.start()

    def work(self) -> None:
        try:
            self.outcome = self.engine.run()
        except BaseException as exc:  # shown in the app, printed by run_app: not swallowed
            self.error = exc
            self.trace = traceback.format_exc()
        self.app.post_message(EngineThread.Finished(self.outcome, self.error, self.trace))

    def join(self, timeout: float | None = None) -> None:
        if self.started:
            self.thread.join(timeout)
