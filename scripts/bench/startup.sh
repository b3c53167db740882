#!/usr/bin/env bash
# startup_help_ms: median wall time of `kindling --help` over 20 runs (release build). Goal ≤ 20 ms.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -q --bin kindling
bin=target/release/kindling
"$bin" --help >/dev/null  # warm the page cache
runs=()
for _ in $(seq 1 20); do
  start=$(date +%s%N)
  "$bin" --help >/dev/null
  end=$(date +%s%N)
  runs+=($(( (end - start) / 1000 )))
done
median_us=$(printf '%s\n' "${runs[@]}" | sort -n | awk '{a[NR]=$1} END {print (a[int((NR+1)/2)] + a[int(NR/2)+1]) / 2}')
awk -v us="$median_us" 'BEGIN { printf "startup_help_ms=%.2f\n", us / 1000 }'
echo "goal: startup_help_ms <= 20"
