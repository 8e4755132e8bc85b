#!/usr/bin/env bash
# Every newer feature at once (keyspaces, transactions, range deletes, TTL, checkpoints
# taken while writing) for SECS (default 600); CI runs 20 s of the same code
# (crates/quickcache/tests/all_features_concurrency.rs). Usage: scripts/all-features.sh [SECS]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p quickcache-stress --bin stress
exec "${CARGO_TARGET_DIR:-target}/release/stress" all-features --secs "${1:-600}"
