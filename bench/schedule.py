"""How close does the scheduler get to the best possible makespan?

At least 100 random DAGs (50–500 tasks, random durations) on a simulated clock with 4 and 8
agents. For each: makespan ÷ lower bound, where lower bound = max(critical path, total work ÷
agents), for our scheduler (critical path first, core/scheduler.py) and for a wave-by-wave
baseline (a wave starts only when the previous one has finished). Not a test: it prints.

    python bench/schedule.py [--dags 100] [--seed 1]
"""

from __future__ import annotations

import argparse
import heapq
import random
import statistics

from orchestrator_tui.core.graph import critical_path, waves
from orchestrator_tui.core.models import Task, TaskStatus
from orchestrator_tui.core.scheduler import Scheduler


def random_dag(rng: random.Random) -> list[Task]:
    size = rng.randint(50, 500)
    tasks = []
    for i in range(size):
        window = list(range(max(0, i - 30), i))
        count = min(len(window), rng.choice((0, 1, 1, 2, 2, 3)))
        depends = tuple(f"t{d}" for d in sorted(rng.sample(window, count)))
        estimate = round(rng.lognormvariate(1.0, 0.8), 2) + 0.1
        tasks.append(Task(id=f"t{i}", title=f"task {i}", depends=depends, estimate=estimate))
    return tasks


def simulate_ours(tasks: list[Task], agents: int) -> float:
    scheduler = Scheduler(tasks)
    duration = {t.id: t.estimate or 1.0 for t in tasks}
    status = {t.id: TaskStatus.PENDING for t in tasks}
    running: list[tuple[float, str]] = []
    now = 0.0
    while True:
        scheduler.update(status)
        for task_id in scheduler.pick([r[1] for r in running], agents - len(running)):
            status[task_id] = TaskStatus.RUNNING
            heapq.heappush(running, (now + duration[task_id], task_id))
        if not running:
            return now
        now, finished = heapq.heappop(running)
        status[finished] = TaskStatus.DONE
        while running and running[0][0] == now:
            status[heapq.heappop(running)[1]] = TaskStatus.DONE


def simulate_waves(tasks: list[Task], agents: int) -> float:
    duration = {t.id: t.estimate or 1.0 for t in tasks}
    total = 0.0
    for wave in waves(tasks):
        free = [0.0] * agents  # list scheduling inside a wave, longest first
        for task_id in sorted(wave, key=lambda t: -duration[t]):
            slot = min(range(agents), key=free.__getitem__)
            free[slot] += duration[task_id]
        total += max(free)
    return total


def lower_bound(tasks: list[Task], agents: int) -> float:
    path = sum(t.estimate or 1.0 for t in tasks if t.id in set(critical_path(tasks)))
    return max(path, sum(t.estimate or 1.0 for t in tasks) / agents)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dags", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    dags = [random_dag(rng) for _ in range(args.dags)]
    print(f"{args.dags} random DAGs, 50–500 tasks each (seed {args.seed})")
    print(f"{'agents':>6} {'scheduler':>10} {'median':>8} {'p95':>8}")
    for agents in (4, 8):
        ours = [simulate_ours(d, agents) / lower_bound(d, agents) for d in dags]
        base = [simulate_waves(d, agents) / lower_bound(d, agents) for d in dags]
        for name, ratios in (("ours", ours), ("waves", base)):
            p95 = statistics.quantiles(ratios, n=20)[-1]
            print(f"{agents:>6} {name:>10} {statistics.median(ratios):8.3f} {p95:8.3f}")
        gain = 1 - statistics.median([o / b for o, b in zip(ours, base, strict=True)])
        print(f"{agents:>6} ours is {gain:.1%} faster than waves (median per DAG)")


if __name__ == "__main__":
    main()
