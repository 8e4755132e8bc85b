#!/usr/bin/env bash
# Runs every fuzz target, or the ones named, for SECONDS seconds each (default 60)
# with the nightly toolchain, installing cargo-fuzz from crates.io if it is missing.
# New inputs that grow coverage are added to corpus/<target>/; crashes land in
# artifacts/<target>/ and must become named regression tests. Exits non-zero if any
# target found a crash. Usage: fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-60}"
shift || true
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo +nightly install cargo-fuzz --locked
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
failed=()
for target in "${targets[@]}"; do
  echo "== $target (${secs}s)"
  mkdir -p "corpus/$target"
  log=$(mktemp)
  if ! cargo +nightly fuzz run "$target" "corpus/$target" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 > "$log" 2>&1; then
    failed+=("$target")
  fi
  grep -E 'stat::number_of_executed_units|ERROR|SUMMARY|panicked' "$log" || true
  [ ${#failed[@]} -gt 0 ] && [ "${failed[-1]}" = "$target" ] && tail -n 30 "$log"
  rm -f "$log"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashes in ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${secs}s each, no crash"
