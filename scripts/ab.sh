#!/usr/bin/env bash
# A/B benchmark of two commits in one run: builds `quickcache` (release) at BASE and
# at HEAD (each in a temporary worktree with its own target dir), then runs
# `quickcache bench` alternately, ROUNDS rounds (default 5), and prints per workload
# the median ops/s of each side and the ratio head/base with its spread (min..max of
# the per-round ratios). The machine is noisy: quote the ratios, not the rates.
#
# Usage: scripts/ab.sh BASE HEAD [ROUNDS] [-- bench arguments]
#   scripts/ab.sh HEAD~1 HEAD 5 -- --num 300000 --threads 4 --benchmarks fillrandom,readrandom
# HEAD may be `WORKTREE` for the uncommitted working tree. AB_BASE_BIN and AB_HEAD_BIN,
# if set, name already built `quickcache` binaries to use instead of building a side
# (build them while the machine is busy, run the rounds when it is quiet).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
base=${1:?usage: scripts/ab.sh BASE HEAD [ROUNDS] [-- bench args]}
head=${2:?usage: scripts/ab.sh BASE HEAD [ROUNDS] [-- bench args]}
shift 2
rounds=5
if [ $# -gt 0 ] && [ "$1" != "--" ]; then rounds=$1; shift; fi
[ "${1:-}" = "--" ] && shift
bench_args=("$@")
[ ${#bench_args[@]} -gt 0 ] || bench_args=(--num 300000 --benchmarks fillrandom,readrandom,seekrandom)

work=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$work/base" >/dev/null 2>&1 || true;
      git -C "$root" worktree remove --force "$work/head" >/dev/null 2>&1 || true' EXIT

build() { # name rev
  local name=$1 rev=$2 src prebuilt
  prebuilt=$([ "$name" = base ] && echo "${AB_BASE_BIN:-}" || echo "${AB_HEAD_BIN:-}")
  if [ -n "$prebuilt" ]; then
    cp "$prebuilt" "$work/qc-$name"
    return
  fi
  if [ "$rev" = WORKTREE ]; then
    src=$root
  else
    src=$work/$name
    git -C "$root" worktree add --detach "$src" "$rev" >/dev/null
  fi
  (cd "$src" && CARGO_TARGET_DIR="${AB_TARGET_DIR:-$root/target/ab}-$name" \
    cargo build --release -q -p quickcache-cli)
  cp "${AB_TARGET_DIR:-$root/target/ab}-$name/release/quickcache" "$work/qc-$name"
}
echo "building $base and $head ..." >&2
build base "$base"
build head "$head"

for round in $(seq 1 "$rounds"); do
  for side in base head; do
    (cd "$work" && "$work/qc-$side" bench --json "${bench_args[@]}") 2>/dev/null |
      sed "s/^/$side $round /" >> "$work/results"
  done
  echo "round $round of $rounds done" >&2
done

python3 - "$work/results" <<'PY'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    side, rnd, payload = line.split(" ", 2)
    r = json.loads(payload)
    key = (r["workload"], r["threads"])
    rows.setdefault(key, {}).setdefault(int(rnd), {})[side] = r["ops_per_sec"]
print(f"{'workload':<18}{'thr':>4}{'base ops/s':>14}{'head ops/s':>14}{'head/base':>11}  spread")
for (workload, threads), by_round in rows.items():
    pairs = [(v["base"], v["head"]) for v in by_round.values() if "base" in v and "head" in v]
    if not pairs:
        continue
    ratios = [h / b for b, h in pairs if b > 0]
    b = statistics.median(p[0] for p in pairs)
    h = statistics.median(p[1] for p in pairs)
    print(f"{workload:<18}{threads:>4}{b:>14,.0f}{h:>14,.0f}{statistics.median(ratios):>11.3f}  {min(ratios):.3f}..{max(ratios):.3f} ({len(ratios)} rounds)")
PY
