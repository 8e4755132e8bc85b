#!/usr/bin/env bash
# kill -9 loop on the real file system: CYCLES (default 10,000) kills of a child
# running a random workload, one in ten during recovery; each followed by verify,
# reopen and the oracle check. A run starts from a fresh database and derives its
# workloads and kill moments from SEED. To spread 10,000 cycles over sessions, run
# chunks: SEED `next` (the default) is one past the last cycle recorded in
# docs/long-runs.tsv, so every chunk has a seed of its own and the recorded counts
# add up.
# Usage: scripts/kill-loop.sh [CYCLES] [SEED|next]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/record.sh
cycles="${1:-10000}"
first="${2:-next}"
[ "$first" = next ] && first=$(next_first kill-loop)
cargo build --release -p quickcache-stress --bin stress
record kill-loop "$first" "$cycles" -- \
  "${CARGO_TARGET_DIR:-target}/release/stress" kill --cycles "$cycles" --seed "$first"
