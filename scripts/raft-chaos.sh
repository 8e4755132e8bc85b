#!/usr/bin/env bash
# Repeated random kills and restarts of a 3-node quickcache-server cluster under
# concurrent clients, for MINUTES minutes; the history is recorded
# (raft-chaos-history.jsonl, or $HISTORY) and checked for linearizability.
#
#   scripts/raft-chaos.sh 10
#   SEED=7 CLIENTS=16 KEYS=32 scripts/raft-chaos.sh 60
#
# Replay a check alone: target/release/raft-chaos --check raft-chaos-history.jsonl
set -euo pipefail
minutes="${1:?usage: scripts/raft-chaos.sh MINUTES}"
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
cargo build --release -p quickcache-server -p quickcache-lincheck
exec "$target/release/raft-chaos" \
    --server "$target/release/quickcache-server" \
    --seconds "$((minutes * 60))" \
    --clients "${CLIENTS:-8}" --keys "${KEYS:-16}" --seed "${SEED:-$RANDOM}" \
    --history "${HISTORY:-raft-chaos-history.jsonl}"
