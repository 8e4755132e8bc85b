#!/usr/bin/env bash
# Runs the concurrency stress test RUNS times (default 200), PARALLEL at a time
# (default 2, so the runs contend for the cores), each for QUICKCACHE_STRESS_SECS
# seconds (default 5), in a release build. Every run has the test's watchdog: a hang
# fails that run with a report instead of stopping the loop. Prints one line per run
# and a summary; exits non-zero if any run failed.
# Usage: scripts/stress-repeat.sh [RUNS] [PARALLEL]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-200}"
parallel="${2:-2}"
export QUICKCACHE_STRESS_SECS="${QUICKCACHE_STRESS_SECS:-5}"
bin=$(cargo test --release -p quickcache --test concurrency_stress --no-run --message-format=json 2>/dev/null \
  | grep -o '"executable":"[^"]*concurrency_stress[^"]*"' | tail -n1 | cut -d'"' -f4)
[ -x "$bin" ] || { echo "could not build the concurrency_stress test" >&2; exit 1; }
logs=$(mktemp -d)
echo "binary: $bin; $runs runs, $parallel at a time, ${QUICKCACHE_STRESS_SECS}s each; logs in $logs"
seq 1 "$runs" | xargs -P "$parallel" -I{} sh -c \
  '"$0" --test-threads=1 > "$1/run-{}.log" 2>&1 && echo "run {}: ok" || echo "run {}: FAILED (exit $?, see $1/run-{}.log)"' \
  "$bin" "$logs" | tee "$logs/summary"
passed=$(grep -c ': ok$' "$logs/summary" || true)
failed=$((runs - passed))
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
