#!/usr/bin/env bash
# Adds up docs/long-runs.tsv per suite: runs, units (seeds, cycles or fuzz seconds)
# that passed, failures. A row whose result starts with `void` (a run made invalid
# from outside, its summary says how) counts for nothing.
# Usage: scripts/long-runs-total.sh
set -euo pipefail
cd "$(dirname "$0")/.."
awk -F'\t' 'NR > 1 && $8 !~ /^void/ {
  runs[$3]++
  if ($8 == "ok") { ok[$3] += $6; secs[$3] += $7 } else { failed[$3]++ }
} END {
  printf "%-28s %6s %12s %10s %8s\n", "suite", "runs", "passed", "seconds", "failed"
  for (s in runs) printf "%-28s %6d %12d %10d %8d\n", s, runs[s], ok[s], secs[s], failed[s]
}' docs/long-runs.tsv | sort
