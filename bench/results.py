"""Compose bench/RESULTS.md from the outputs in bench/out/ (see run_all.sh)."""

from __future__ import annotations

import os
import platform
import re
import sys
import time
from pathlib import Path

# (benchmark, figure, goal, pattern whose first group is the measured value)
FIGURES = [
    ("plan_parse", "parse+validate+waves+critical path, 10,000 tasks", "≤ 0.2 s",
     r"^10,000 tasks: ([\d.]+ s)"),
    ("plan_parse", "growth 100k ÷ 10k tasks", "≤ 12", r"100k/10k ratio: ([\d.]+)"),
    ("schedule", "makespan ÷ lower bound, median, 4 agents", "≤ 1.05",
     r"^\s+4\s+ours\s+([\d.]+)"),
    ("schedule", "makespan ÷ lower bound, median, 8 agents", "≤ 1.05",
     r"^\s+8\s+ours\s+([\d.]+)"),
    ("schedule", "faster than wave-by-wave, 4 agents", "≥ 15 %",
     r"^\s+4 ours is ([\d.]+%) faster"),
    ("schedule", "faster than wave-by-wave, 8 agents", "≥ 15 %",
     r"^\s+8 ours is ([\d.]+%) faster"),
    ("overhead", "1,000 no-op tasks vs make -j8", "≤ 1.5×", r"^ratio:\s+([\d.]+×)"),
    ("analyze", "analyze a 5,000-file repository (median)", "≤ 2 s",
     r"files: ([\d.]+ s) median"),
    ("watch_latency", "save PLAN.md → DAG pane updated (median)", "≤ 300 ms",
     r"updated\s+median (\d+ ms)"),
    ("dag_frame", "DAG graph, 500 tasks: open (the plan arrives → drawn)",
     "≤ 16 ms median, ≤ 50 ms p95",
     r"^  open\s+(median\s+[\d.]+ ms\s+p95\s+[\d.]+ ms)"),
    ("dag_frame", "DAG graph, 500 tasks: scroll (key → drawn)", "≤ 16 ms median, ≤ 50 ms p95",
     r"^  scroll\s+(median\s+[\d.]+ ms\s+p95\s+[\d.]+ ms)"),
    ("dag_frame", "DAG graph, 500 tasks: a status change (event → drawn)",
     "≤ 16 ms median, ≤ 50 ms p95", r"^  status\s+(median\s+[\d.]+ ms\s+p95\s+[\d.]+ ms)"),
    ("ui_flood", "lag of the newest line on screen", "≤ 250 ms", r"newest line\s+(\d+ ms)"),
    ("ui_flood", "key-to-screen latency during the flood", "≤ 100 ms",
     r"key-to-screen during flood\s+(median \d+ ms, p95 \d+ ms)"),
    ("ui_flood", "peak RSS", "≤ 300 MB", r"peak RSS\s+(\d+ MB)"),
    ("ui_flood", "every line in the log files", "yes", r"every line in the log files\s+(.+)$"),
    ("ui_flood_tiles", "six agents side by side: lag of the newest line", "≤ 250 ms",
     r"newest line\s+(\d+ ms)"),
    ("ui_flood_tiles", "six agents side by side: key-to-screen", "≤ 100 ms",
     r"key-to-screen during flood\s+(median \d+ ms, p95 \d+ ms)"),
    ("ui_flood_tiles", "six agents side by side: every line in the log files", "yes",
     r"every line in the log files\s+(.+)$"),
    ("ray_dispatch", "Ray, 2 nodes: added per task by wall time (100 no-ops)", "≤ 250 ms",
     r"^added per task by wall time: (-?\d+ ms)"),
    ("ray_dispatch", "Ray, 2 nodes: added per task, median duration", "≤ 250 ms",
     r"^added per task: (-?\d+ ms) \(median duration\)"),
    ("ray_dispatch", "Ray: output line latency, remote agent → driver", "≤ 100 ms median",
     r"^remote line latency: (median \d+ ms, p99 \d+ ms)"),
    ("timeline", "past run of 500 tasks: a timeline step, state + widgets (go)", "≤ 16 ms median",
     r"a step's go\(\) alone:\s+(median [\d.]+ ms, p95 [\d.]+ ms)"),
    ("timeline", "past run of 500 tasks: a jump vs folding from the start", "≥ 5×",
     r"^jump vs fold from the start: (\d+x)"),
]  # fmt: skip


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main(out: Path) -> None:
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    where = machine()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    print("# Benchmark results\n")
    print(f"One run of `bench/run_all.sh` on {when} ({where}; load average {load:.1f} at the")
    print("end — the machines are shared, so ratios measured side by side count most).\n")
    print("| figure | goal | measured | machine | when |")
    print("|---|---|---|---|---|")
    for bench, figure, goal, pattern in FIGURES:
        path = out / f"{bench}.txt"
        text = path.read_text(errors="replace") if path.exists() else ""
        match = re.search(pattern, text, flags=re.M)
        measured = match.group(1).strip() if match else "see output below"
        print(f"| {figure} | {goal} | {measured} | {where} | {when} |")
    for path in sorted(out.glob("*.txt")):
        print(f"\n## {path.stem}\n\n```\n{path.read_text(errors='replace').rstrip()}\n```")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "bench/out"))
