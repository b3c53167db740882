#!/usr/bin/env bash
# Benchmarks demo-app against the Go reference app under the same wrk load on /api/data.
# Usage: scripts/bench/demo-app.sh   (or scripts/bench.sh demo-app)
# Env: KINDLING_SHARED_DIR (default <repo>/../shared), BENCH_DURATION (default 8s),
#      BENCH_CONNECTIONS (default 32), BENCH_ROUNDS (default 3; each figure is the median over
#      the rounds, which alternate between the two apps so background load hits both alike).
# Prints: rust_rps= go_rps= rps_ratio= rust_rss_kb= go_rss_kb= rss_ratio= rust_p99_ms= go_p99_ms=
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
shared=${KINDLING_SHARED_DIR:-$repo/../shared}
duration=${BENCH_DURATION:-8s}
conns=${BENCH_CONNECTIONS:-32}
rounds=${BENCH_ROUNDS:-3}
command -v wrk >/dev/null || { echo "bench: wrk not found (apt-get install wrk)" >&2; exit 1; }
[ -x "$shared/anchors/demo-app-go/build.sh" ] ||
  { echo "bench: $shared/anchors/demo-app-go/build.sh not found (set KINDLING_SHARED_DIR)" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

echo "bench: building the Go reference and demo-app (release)" >&2
"$shared/anchors/demo-app-go/build.sh" "$work/demo-app-go" >&2
rust_bin=$("$repo/demo-app/build-binary.sh")

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_port() {
  for _ in $(seq 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$1/api/data" && return 0
    sleep 0.1
  done
  echo "bench: nothing answers on port $1" >&2
  return 1
}

# to_ms VALUE_WITH_UNIT: wrk prints latencies as 812.00us, 1.23ms or 1.01s.
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.3f", v * 60000 }
    else { sub(/s$/, "", v); printf "%.3f", v * 1000 }
  }'
}

# cpu_ticks PID: user + system CPU time of the process, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# run NAME BINARY: starts the app, warms up, measures; sets rps, p99 and rss_kb.
run() {
  local name=$1 bin=$2 port pid out
  port=$(free_port)
  PORT=$port BIND_ADDR=127.0.0.1 VERSION=bench $pin_app "$bin" 2>"$work/$name.log" &
  pid=$!
  pids+=("$pid")
  wait_port "$port"
  $pin_wrk wrk -t1 -c"$conns" -d2s "http://127.0.0.1:$port/api/data" >/dev/null
  local ticks0 ticks1 requests
  ticks0=$(cpu_ticks "$pid")
  out=$($pin_wrk wrk -t1 -c"$conns" -d"$duration" --latency "http://127.0.0.1:$port/api/data")
  ticks1=$(cpu_ticks "$pid")
  echo "$out" | sed "s/^/bench: $name: /" >&2
  # Server CPU per request: what the app costs, whatever share of the CPUs wrk gets.
  requests=$(echo "$out" | awk '/requests in/ { print $1 }')
  awk -v t=$((ticks1 - ticks0)) -v hz="$(getconf CLK_TCK)" -v r="$requests" -v n="$name" \
    'BEGIN { printf "bench: %s: server CPU %.1f us per request\n", n, t * 1e6 / hz / r }' >&2
  rps=$(echo "$out" | awk '/^Requests\/sec:/ { print $2 }')
  p99=$(to_ms "$(echo "$out" | awk '$1 == "99%" { print $2 }')")
  rss_kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
  if echo "$out" | grep -q "Non-2xx"; then
    echo "bench: $name answered errors under load" >&2
    exit 1
  fi
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}

# With two or more CPUs, wrk runs on CPU 0 and the app on CPU 1 (both apps alike: Go's
# GOMAXPROCS and the demo app's threads follow the affinity), so the load generator does not
# take its CPU from the app it measures. BENCH_PIN=0 lets all three share every CPU.
pin_wrk="" pin_app=""
if [ "${BENCH_PIN:-1}" = 1 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  pin_wrk="taskset -c 0" pin_app="taskset -c 1"
  echo "bench: wrk pinned to CPU 0, the app to CPU 1" >&2
fi

# The machine may be shared: the load average is printed beside the figures, since a busy
# host squeezes wrk and both apps alike and compresses the ratio towards 1.
echo "bench: load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# Per app, one "rps p99 rss" line per round; the median of each column is reported, so one
# round disturbed by other work on the machine does not decide the result.
for round in $(seq "$rounds"); do
  echo "bench: round $round of $rounds" >&2
  run rust "$rust_bin"
  echo "$rps $p99 $rss_kb" >>"$work/rust.rounds"
  run go "$work/demo-app-go"
  echo "$rps $p99 $rss_kb" >>"$work/go.rounds"
done

# median FILE COLUMN
median() {
  awk -v c="$2" '{ print $c }' "$1" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "bench: load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

rust_rps=$(median "$work/rust.rounds" 1) go_rps=$(median "$work/go.rounds" 1)
rust_p99=$(median "$work/rust.rounds" 2) go_p99=$(median "$work/go.rounds" 2)
rust_rss=$(median "$work/rust.rounds" 3) go_rss=$(median "$work/go.rounds" 3)
echo "rust_rps=$rust_rps"
echo "go_rps=$go_rps"
awk -v a="$rust_rps" -v b="$go_rps" 'BEGIN { printf "rps_ratio=%.2f\n", a / b }'
echo "rust_rss_kb=$rust_rss"
echo "go_rss_kb=$go_rss"
awk -v a="$rust_rss" -v b="$go_rss" 'BEGIN { printf "rss_ratio=%.3f\n", a / b }'
echo "rust_p99_ms=$rust_p99"
echo "go_p99_ms=$go_p99"
