#!/usr/bin/env bash
# Power loss at sampled fs operations of SEEDS random workloads (default 100,000) on
# the simulated file system. Usage: scripts/power-loss.sh [SEEDS] [FIRST_SEED] [POINTS]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p quickcache-stress --bin stress
exec "${CARGO_TARGET_DIR:-target}/release/stress" power --seeds "${1:-100000}" --from "${2:-1}" --points "${3:-12}"
