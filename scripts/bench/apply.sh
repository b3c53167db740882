#!/bin/sh
# Client-side time to apply Argo CD's install.yaml (59 objects, 1.9 MB) to a fresh fake API
# server (parse + discovery + server-side apply), median of RUNS runs, and the number of HTTP
# requests one apply makes. Prints apply_argocd_ms=<median> and apply_argocd_requests=<n>, with
# the breakdown: apply_argocd_parse_ms (YAML → objects), apply_argocd_apply_ms (discovery and
# requests), apply_argocd_cpu_ms (CPU time of the process, the in-process fake included), and
# the machine's load average, since wall times on a busy machine are not comparable.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED_DIR=${KINDLING_SHARED_DIR:-$ROOT/../shared}
INSTALL="$SHARED_DIR/upstream/argo-cd/v3.5.1/install.yaml"
RUNS=${RUNS:-9}
[ -f "$INSTALL" ] || { echo "apply bench: $INSTALL not found (set KINDLING_SHARED_DIR)" >&2; exit 1; }
cd "$ROOT"
cargo build --quiet --release --example bench_apply
"$ROOT/target/release/examples/bench_apply" "$INSTALL" "$RUNS"
echo "load_average_1m=$(cut -d' ' -f1 /proc/loadavg)"
echo "goal: apply_argocd_ms <= 300"
