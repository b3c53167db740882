#!/usr/bin/env bash
# `kindling up` on stand-ins (tests/up_support: stand-in kind node, real registry and image
# build, fake API server with simulated Argo CD / Argo Rollouts) with fixed simulated readiness
# delays, against the longest dependency chain of those delays:
#   Argo CD workloads (UP_SIM_WORKLOADS_MS) → platform Applications (UP_SIM_APPLICATION_MS)
#   → demo Applications (UP_SIM_APPLICATION_MS) → demo Rollouts (UP_SIM_ROLLOUT_MS).
# Prints the time of each step, then up_wall_ms=, critical_path_ms=, ratio=. Goal: ratio ≤ 1.1.
# Needs what the tests need (Docker, the stand-in images, the sid tools): scripts/lib/prepare.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
export KINDLING_SHARED_DIR=${KINDLING_SHARED_DIR:-$ROOT/../shared}
# shellcheck source=../lib/prepare.sh
source "$ROOT/scripts/lib/prepare.sh"
ensure_docker
build_standin_registry
fetch_sid_tools >/dev/null
cargo nextest run --test up_pipeline --run-ignored only --no-capture bench_up_sim 2>/dev/null |
  grep -E '^(step |up_wall_ms=|critical_path_ms=|ratio=)'
echo "goal: ratio <= 1.1"
