#!/usr/bin/env bash
# Runs every fuzz target for SECONDS seconds each (default 60) with the nightly
# toolchain, installing cargo-fuzz from crates.io if it is missing.
# New inputs that grow coverage are added to corpus/<target>/; crashes land in
# artifacts/<target>/ and must become named regression tests.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-60}"
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo +nightly install cargo-fuzz --locked
fi
for target in $(cargo +nightly fuzz list); do
  echo "== $target (${secs}s)"
  mkdir -p "corpus/$target"
  cargo +nightly fuzz run "$target" "corpus/$target" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 2>&1 \
    | grep -E 'stat::number_of_executed_units|ERROR|SUMMARY|panicked' || true
done
