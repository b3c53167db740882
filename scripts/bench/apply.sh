#!/bin/sh
# Client-side time to apply Argo CD's install.yaml (59 objects, 1.9 MB) to a fresh fake API
# server (parse + discovery + server-side apply), median of RUNS runs, and the number of HTTP
# requests one apply makes. Prints apply_argocd_ms=<median> and apply_argocd_requests=<n>.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED_DIR=${KINDLING_SHARED_DIR:-$ROOT/../shared}
INSTALL="$SHARED_DIR/upstream/argo-cd/v3.5.1/install.yaml"
RUNS=${RUNS:-9}
[ -f "$INSTALL" ] || { echo "apply bench: $INSTALL not found (set KINDLING_SHARED_DIR)" >&2; exit 1; }
cd "$ROOT"
cargo build --quiet --release --example bench_apply
"$ROOT/target/release/examples/bench_apply" "$INSTALL" "$RUNS"
