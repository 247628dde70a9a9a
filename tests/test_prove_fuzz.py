"""Prove it: mutated plans, configs and CLAUDE.md files never raise anything but the
documented error, and every plan error names its file (and line, where there is one)."""

from __future__ import annotations

import tomllib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator_tui.core.config import ConfigError, config_from_dict, config_template
from orchestrator_tui.core.plan import PlanError, parse_plan_bytes
from orchestrator_tui.core.system import parse_system
from orchestrator_tui.resources import claude_md_example

VALID_PLAN = b"""# Plan: Shop

Build a shop.

## T1: Models
depends: none
files: shop/models.py
estimate: 20m

Write the models.

## T2: API
depends: T1
files: shop/api.py, shop/*.py
timeout: 1h30m
retries: 2

## T3: UI
depends: T1
priority: 3
agent: codex
"""
NASTY = [
    b"\x00",
    b"\r\n",
    b"\xef\xbb\xbf",
    b"\t",
    b"\xff\xfe",
    "ünïcödé ✓".encode(),
    b"$(rm -rf /)",
    b"## " + b"X" * 500 + b": huge",
    b"depends: " + b", ".join(b"T%d" % i for i in range(3000)),
    b"## T1: again",
    b"```",
    b"timeout: 5",
    b"retries: many",
    b"bogus: key",
]


@st.composite
def mutated(draw: st.DrawFn, source: bytes) -> bytes:
    lines = source.split(b"\n")
    for _ in range(draw(st.integers(1, 6))):
        where = draw(st.integers(0, len(lines)))
        action = draw(st.sampled_from(["drop", "dup", "insert", "bytes", "cut"]))
        if action == "drop" and lines:
            del lines[min(where, len(lines) - 1)]
        elif action == "dup" and lines:
            lines.insert(where, lines[min(where, len(lines) - 1)])
        elif action == "insert":
            lines.insert(where, draw(st.sampled_from(NASTY)))
        elif action == "bytes":
            lines.insert(where, draw(st.binary(max_size=40)))
        elif action == "cut" and lines:
            line = lines[min(where, len(lines) - 1)]
            lines[min(where, len(lines) - 1)] = line[: draw(st.integers(0, len(line)))]
    return b"\n".join(lines)


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(mutated(VALID_PLAN), st.sampled_from(["PLAN.md", "plan.toml", "tasks.json"]))
def test_mutated_plans_parse_or_fail_with_located_errors(data: bytes, name: str) -> None:
    try:
        plan = parse_plan_bytes(data, name)
    except PlanError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert str(problem).startswith(name)
            assert problem.line >= 0 and "\n" not in problem.message
    else:
        assert plan.tasks  # a plan that parses has tasks, each with a valid ID
        assert all(len(t.id) <= 64 for t in plan.tasks)


TEMPLATE = config_template().encode()


@FUZZ
@given(mutated(TEMPLATE))
def test_mutated_configs_load_or_fail_with_config_error(data: bytes) -> None:
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return  # load_config turns these into ConfigError (see test below)
    try:
        config_from_dict(raw)
    except ConfigError as exc:
        assert str(exc).startswith("config.toml: ")


def test_unreadable_config_is_a_config_error(tmp_path) -> None:
    from orchestrator_tui.core.config import load_config

    (tmp_path / ".orchestrator").mkdir()
    for data in (b"\xff\xfe", b"[run\nplan = ", b"[run]\nconcurrency = 0\n"):
        (tmp_path / ".orchestrator" / "config.toml").write_bytes(data)
        try:
            load_config(tmp_path)
        except ConfigError as exc:
            assert "config.toml" in str(exc)
        else:
            raise AssertionError(f"{data!r} loaded")


CLAUDE = claude_md_example().encode()


@FUZZ
@given(mutated(CLAUDE))
def test_mutated_claude_md_never_raises(data: bytes) -> None:
    system = parse_system(data.decode("utf-8", errors="replace"))
    assert all(p.startswith("CLAUDE.md:") for p in system.problems)
