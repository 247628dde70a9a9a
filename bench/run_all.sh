#!/usr/bin/env bash
# Run every benchmark once, side by side in one session, and write bench/RESULTS.md:
# one table (figure, goal, measured, machine, when) plus each benchmark's own output.
# Usage: bash bench/run_all.sh   (from the repo, with the project installed in .venv or on PATH)
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
OUT=bench/out
mkdir -p "$OUT"
for bench in plan_parse schedule overhead analyze watch_latency dag_frame ui_flood ray_dispatch timeline; do
  echo "== $bench" >&2
  timeout 1800 "$PY" "bench/$bench.py" > "$OUT/$bench.txt" 2>&1 || echo "(exit $?)" >> "$OUT/$bench.txt"
done
echo "== ui_flood --tiles" >&2  # the same flood with the agents side by side (six tiles)
timeout 1800 "$PY" bench/ui_flood.py --tiles > "$OUT/ui_flood_tiles.txt" 2>&1 || echo "(exit $?)" >> "$OUT/ui_flood_tiles.txt"
"$PY" bench/results.py "$OUT" > bench/RESULTS.md
echo "wrote bench/RESULTS.md" >&2
