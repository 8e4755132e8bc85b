#!/usr/bin/env bash
# Shared by the long-run scripts: runs one chunk of a suite and appends one line to
# docs/long-runs.tsv (date UTC, commit, suite, first, last, count, seconds, result,
# summary), so that long runs can be spread over several sessions and their totals
# added up (`scripts/long-runs-total.sh`).
# Usage (from the other scripts): record SUITE FIRST COUNT -- COMMAND...
# COUNT `measured` takes the count from `cpu_seconds=N` in the command's last line
# (fuzz runs count CPU seconds, which a busy machine makes fewer than wall seconds).
set -euo pipefail

results="$(dirname "${BASH_SOURCE[0]}")/../docs/long-runs.tsv"

# The first number after everything SUITE has recorded with result ok or failed:
# a resumed run starts there, so no seed is run twice and none is skipped.
next_first() {
  local suite="$1"
  [ -f "$results" ] || { echo 1; return; }
  awk -F'\t' -v s="$suite" 'NR > 1 && $3 == s && $5 + 1 > n { n = $5 + 1 } END { print (n ? n : 1) }' "$results"
}

record() {
  local suite="$1" first="$2" count="$3"
  shift 4 # SUITE FIRST COUNT --
  [ -f "$results" ] || printf 'date\tcommit\tsuite\tfirst\tlast\tcount\tseconds\tresult\tsummary\n' > "$results"
  local commit start out status
  commit=$(git rev-parse --short HEAD)
  if ! git diff --quiet HEAD -- crates; then commit="$commit+dirty"; fi
  start=$(date +%s)
  set +e
  out=$("$@" 2>&1 | tee /dev/stderr | tail -n 1)
  status=${PIPESTATUS[0]}
  set -e
  local result=ok
  [ "$status" -eq 0 ] || result="failed($status)"
  if [ "$count" = measured ]; then
    count=$(sed -n 's/.*cpu_seconds=\([0-9]*\).*/\1/p' <<< "$out")
    count=${count:-0}
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$commit" "$suite" \
    "$first" "$((first + count - 1))" "$count" "$(($(date +%s) - start))" "$result" \
    "${out//$'\t'/ }" >> "$results"
  return "$status"
}
