"""The demo's sample project, its configuration and its simulation script (package data).

`project/` is copied into a fresh directory by `orchestrator-tui demo` (`gitignore` becomes
`.gitignore`); `config.toml` and `simulation.toml` go into its `.orchestrator/`. The
simulated agents write real code and tests (the `write` tables of simulation.toml), so the
security, test and cleanup stages have real work to do.
"""

from __future__ import annotations

from pathlib import Path

DEMO_DATA = Path(__file__).resolve().parent
PROJECT = DEMO_DATA / "project"
CONFIG = DEMO_DATA / "config.toml"
SIMULATION = DEMO_DATA / "simulation.toml"
RENAMED = {"gitignore": ".gitignore"}
