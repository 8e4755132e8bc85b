#!/usr/bin/env bash
# Writers, readers, snapshot readers and compactions at once for SECS (default 30).
# Usage: scripts/concurrency.sh [SECS]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p quickcache-stress --bin stress
exec "${CARGO_TARGET_DIR:-target}/release/stress" concurrency --secs "${1:-30}"
