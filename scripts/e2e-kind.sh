#!/usr/bin/env bash
# The full real run for a machine with Docker and internet (users' CI, .github/workflows/e2e.yml):
# up → up again (must change nothing) → release → status → smoke → down. On failure, dumps what explains it into e2e-diagnostics/.
# It cannot run on kindling's own offline CI machine (no image can be pulled there).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/e2e-checks.sh
cargo build --release --bin kindling
kindling=target/release/kindling
out=e2e-diagnostics

diagnose() {
  set +e
  mkdir -p "$out"
  "$kindling" doctor >"$out/doctor.txt" 2>&1
  "$kindling" cluster status --output json >"$out/cluster.json" 2>&1
  "$kindling" registry status --output json >"$out/registry.json" 2>&1
  "$kindling" status --output json >"$out/status.json" 2>&1
  kubeconfig=$("$kindling" cluster status --output json 2>/dev/null | sed -n 's/.*"kubeconfig": *"\([^"]*\)".*/\1/p')
  if command -v kubectl >/dev/null && [ -n "$kubeconfig" ]; then
    k() { kubectl --kubeconfig "$kubeconfig" "$@"; }
    k get pods -A -o wide >"$out/pods.txt" 2>&1
    k get events -A --sort-by=.lastTimestamp >"$out/events.txt" 2>&1
    k get applications.argoproj.io -A -o yaml >"$out/applications.yaml" 2>&1
    k get rollouts.argoproj.io,analysisruns.argoproj.io -A -o yaml >"$out/rollouts.yaml" 2>&1
    for ns in argocd argo-rollouts; do
      for d in $(k -n "$ns" get deploy -o name 2>/dev/null); do
        k -n "$ns" logs "$d" --tail=200 >"$out/$ns-${d#deployment.apps/}.log" 2>&1
      done
    done
  fi
  echo "diagnostics in $out/" >&2
}
trap 'diagnose' ERR

"$kindling" doctor || true
# The demo image from a static binary built here (demo.binary): no Rust builder image to pull.
KINDLING_DEMO_BINARY=$(demo-app/build-binary.sh)
export KINDLING_DEMO_BINARY
"$kindling" up --yes
# Idempotence on a real cluster: a second up succeeds and reports no step created or changed.
check_second_up "$kindling"
# A release returns once Argo CD synced it and the Rollout started.
"$kindling" release dev v1.0.1
"$kindling" rollout status dev
"$kindling" status
# The delivery scenarios under traffic: canary, blue-green, broken release rolled back.
"$kindling" smoke --profile fast --junit e2e-junit.xml --report e2e-report.html
"$kindling" down --yes
