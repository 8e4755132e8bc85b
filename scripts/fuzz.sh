#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) for SECONDS each through fuzz/run.sh
# and records each target's run in docs/long-runs.tsv (suite `fuzz:<target>`, count
# = seconds), so the CPU-minutes per target add up over sessions.
# Usage: scripts/fuzz.sh SECONDS [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/record.sh
secs="${1:?seconds per target}"
shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cd fuzz && cargo +nightly fuzz list)
fi
for target in "${targets[@]}"; do
  first=$(next_first "fuzz:$target")
  record "fuzz:$target" "$first" "$secs" -- fuzz/run.sh "$secs" "$target"
done
