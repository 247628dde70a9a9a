"""The whole fault-injection sweep of issue 12 over the demo: SIGKILL after every event
boundary, before and after its git commands, and with git's crash leftovers planted; each
resumed and compared with an uninterrupted run (tests/sweep_support.py says what must be
identical). Prints "N/M kill points identical" and lists the ones that differ. Not a test:
tests/test_crash_sweep.py keeps a deterministic subset in CI.

    python bench/crash_sweep.py [--tasks 8] [--jobs 2] [--only event,git,plant,gate] [--every K]

`--every K` takes every Kth git kill point (the full list is ~370 for the demo); `--jobs`
runs that many cases side by side (each is two orchestrator processes in turn).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
os.environ.setdefault("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")

from sweep_support import (
    KillPoint,
    Outcome,
    every_point,
    make_project,
    reference,
    run_case,
    summary,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=8, help="the demo's first N tasks")
    parser.add_argument("--jobs", type=int, default=1, help="cases side by side")
    parser.add_argument("--only", default="event,git,plant,gate", help="kinds of kill points")
    parser.add_argument("--every", type=int, default=1, help="every Kth git kill point")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="crash-sweep-") as folder:
        root = Path(folder)
        template = make_project(root / "template", args.tasks)
        started = time.monotonic()
        ref = reference(template, root)
        print(f"reference run: {len(ref.kinds)} events, {len(ref.git)} git commands, "
              f"{time.monotonic() - started:.1f} s", flush=True)  # fmt: skip
        kinds = set(args.only.split(","))
        points = [p for p in every_point(ref) if p.name.split()[0] in kinds]
        git_points = [p for p in points if p.git_at]
        keep = set(map(id, git_points[:: max(args.every, 1)]))
        points = [p for p in points if not p.git_at or id(p) in keep]
        print(f"{len(points)} kill points, {args.jobs} at a time", flush=True)

        def one(point: KillPoint) -> Outcome:
            outcome = run_case(template, root, point, ref)
            mark = "ok" if outcome.identical else "DIFFERS"
            print(f"{mark:7} {outcome.seconds:5.1f} s  {point.name}", flush=True)
            return outcome

        with ThreadPoolExecutor(max_workers=max(args.jobs, 1)) as pool:
            outcomes = list(pool.map(one, points))
        print(f"\nswept in {time.monotonic() - started:.0f} s")
        print(summary(outcomes))
        return 0 if all(o.identical for o in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
