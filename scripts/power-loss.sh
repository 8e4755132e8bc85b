#!/usr/bin/env bash
# Power loss at sampled fs operations of SEEDS random workloads (default 100,000) on
# the simulated file system, in a release build. FIRST_SEED `next` (the default)
# continues after the last seed recorded in docs/long-runs.tsv, so a long run can be
# spread over several sessions; every run appends its range and outcome there.
# Usage: scripts/power-loss.sh [SEEDS] [FIRST_SEED|next] [POINTS]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/record.sh
seeds="${1:-100000}"
first="${2:-next}"
[ "$first" = next ] && first=$(next_first power-loss)
cargo build --release -p quickcache-stress --bin stress
record power-loss "$first" "$seeds" -- \
  "${CARGO_TARGET_DIR:-target}/release/stress" power --seeds "$seeds" --from "$first" --points "${3:-12}"
