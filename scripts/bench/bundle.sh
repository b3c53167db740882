#!/usr/bin/env bash
# A bundle of stand-in images (tests/bundle_support: multi-platform images with big random layers,
# two sharing a base layer, the node and registry images) against `docker save` of the same
# images for this machine's platform. Prints bundle_bytes=, unique_blob_bytes= (every distinct
# blob and file once: the floor), docker_save_bytes= (reference: Docker saves layers
# uncompressed), size_ratio= (bundle / floor, goal <= 1.05), bundle_load_ms=, docker_load_ms=,
# load_ratio= (`kindling bundle load`, verification included, / `docker load` of the same
# images, goal <= 1.0). BUNDLE_BENCH_LAYER_MB sets the layer size (default 96: a ~180 MB
# bundle; starting the registry costs a fixed ~0.4 s, so much smaller bundles load slower than
# `docker load`).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
export KINDLING_SHARED_DIR=${KINDLING_SHARED_DIR:-$ROOT/../shared}
# shellcheck source=../lib/prepare.sh
source "$ROOT/scripts/lib/prepare.sh"
ensure_docker
build_standin_registry
# Timings are of the release binary (the debug build's sha256 is many times slower).
cargo build --release -q --bin kindling
export KINDLING_TEST_BIN="$ROOT/target/release/kindling"
cargo nextest run --test bundle_offline --run-ignored only --no-capture bench_bundle 2>/dev/null |
  grep -E '^(step |(images|bundle_bytes|unique_blob_bytes|docker_save_bytes|size_ratio|bundle_load_ms|docker_load_ms|load_ratio)=)'
echo "goal: size_ratio <= 1.05, load_ratio <= 1.0"
