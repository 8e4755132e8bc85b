#!/usr/bin/env bash
# Runs every fuzz target, or the ones named, for SECONDS seconds each (default 60)
# with the nightly toolchain, installing cargo-fuzz from crates.io if it is missing.
# New inputs that grow coverage are added to corpus/<target>/; crashes land in
# artifacts/<target>/ and must become named regression tests. Exits non-zero if any
# target found a crash. Libfuzzer's time limit is wall-clock time, so on a busy machine
# a target gets less CPU than SECONDS: each target's CPU seconds (user + system, from
# bash's `times`, the fuzzer's own build excluded) are printed, and the last line sums
# them as `cpu_seconds=N` for scripts/fuzz.sh to record. Usage: fuzz/run.sh [SECONDS] [TARGET...]
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
# Children's user + system seconds so far, from the second line of `times`. `times`
# must run in this shell, not in a `$(...)` subshell, whose children are its own.
times_file=$(mktemp)
children_cpu() {
  times > "$times_file"
  cpu_now=$(tail -n 1 "$times_file" |
    awk '{ s = 0; for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); s += t[1] * 60 + t[2] } printf "%d", s }')
}
failed=()
cpu_total=0
for target in "${targets[@]}"; do
  echo "== $target (${secs}s)"
  mkdir -p "corpus/$target"
  cargo +nightly fuzz build "$target" > /dev/null 2>&1 || true
  log=$(mktemp)
  children_cpu
  before=$cpu_now
  if ! cargo +nightly fuzz run "$target" "corpus/$target" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 > "$log" 2>&1; then
    failed+=("$target")
  fi
  children_cpu
  cpu=$((cpu_now - before))
  cpu_total=$((cpu_total + cpu))
  echo "$target: ${cpu} CPU seconds"
  grep -E 'stat::number_of_executed_units|ERROR|SUMMARY|panicked' "$log" || true
  [ ${#failed[@]} -gt 0 ] && [ "${failed[-1]}" = "$target" ] && tail -n 30 "$log"
  rm -f "$log"
done
rm -f "$times_file"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashes in ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${secs}s each, no crash, cpu_seconds=$cpu_total"
