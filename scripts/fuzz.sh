#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) for SECONDS each through fuzz/run.sh
# and records each target's run in docs/long-runs.tsv (suite `fuzz:<target>`, count
# = the CPU seconds the fuzzer used, measured by fuzz/run.sh), so the CPU-minutes per
# target add up over sessions. SECONDS is wall time: on a busy machine, run longer.
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
  record "fuzz:$target" "$first" measured -- fuzz/run.sh "$secs" "$target"
done
