#!/usr/bin/env bash
# kill -9 loop on the real file system: CYCLES (default 10,000) kills of a child
# running a random workload, one in ten during recovery; each followed by verify,
# reopen and the oracle check. Usage: scripts/kill-loop.sh [CYCLES] [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p quickcache-stress --bin stress
exec "${CARGO_TARGET_DIR:-target}/release/stress" kill --cycles "${1:-10000}" --seed "${2:-1}"
