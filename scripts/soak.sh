#!/usr/bin/env bash
# The long runs in rotation for HOURS hours (default 8): each round runs a chunk of
# power-loss seeds, a chunk of kill -9 cycles, every fuzz target for a while (each
# continuing where docs/long-runs.tsv says the last run stopped) and 10 minutes of the
# all-features concurrency stress. Stops at the first
# failure (its line in the results file says which chunk; rerun that range alone to
# reproduce). Release builds. Usage: scripts/soak.sh [HOURS]
set -euo pipefail
cd "$(dirname "$0")/.."
hours="${1:-8}"
end=$(($(date +%s) + hours * 3600))
round=0
while [ "$(date +%s)" -lt "$end" ]; do
  round=$((round + 1))
  echo "== soak round $round ($(date -u +%T))"
  scripts/power-loss.sh 2000
  scripts/kill-loop.sh 200
  scripts/fuzz.sh 120
  scripts/all-features.sh 600
done
echo "soak: $round rounds in ${hours}h; totals: scripts/long-runs-total.sh"
