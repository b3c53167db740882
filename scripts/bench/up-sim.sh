#!/usr/bin/env bash
# `kindling up` on the simulated kind cluster of tests/up_support: the real Docker side
# (registry, a cache, the demo image build, the artifact, a stand-in node) and crates/kind-sim
# on the fake API server, with the real charts (real Helm; renders cached on disk after the
# first run) and Argo CD pacing itself as in real time (sync-wave pauses, retry backoff;
# UP_SIM_ARGOCD_TIME_SCALE, default 1.0). Pods are ready as soon as they can start, so this
# measures what `up` itself costs (preflight, registry, node, image, artifact, wiring,
# applying, waiting, HTTPS checks) plus Argo CD's own pauses — not image pulls or start-up of
# the real components, which only a real run shows (scripts/e2e.sh).
# Prints the time of each step, then up_wall_ms=, before_argocd_ms= (until Argo CD can be
# applied: preflight, node, wiring), argocd_to_ready_ms= (Argo CD applied → every environment
# answering over HTTPS). Goal: up_wall_ms ≤ 60000 on 2 cores with a warm render cache.
# Needs what the tests need (Docker, the stand-in images, the sid tools, helm-render).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
export KINDLING_SHARED_DIR=${KINDLING_SHARED_DIR:-$ROOT/../shared}
# shellcheck source=../lib/prepare.sh
source "$ROOT/scripts/lib/prepare.sh"
ensure_docker
build_standin_registry
ensure_helm_render
fetch_sid_tools >/dev/null
cargo nextest run --test up_pipeline --run-ignored only --no-capture bench_up_sim 2>/dev/null |
  grep -E '^(step |up_wall_ms=|before_argocd_ms=|argocd_to_ready_ms=)'
echo "goal: up_wall_ms <= 60000 (2 cores, warm render cache)"
