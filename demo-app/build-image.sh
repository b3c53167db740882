#!/usr/bin/env bash
# Builds the demo-app image.
# Usage: demo-app/build-image.sh [--prebuilt] TAG VERSION COMMIT
#   default     multi-stage build from source (demo-app/Dockerfile; pulls a Rust builder image)
#   --prebuilt  static binary built on this host (demo-app/build-binary.sh) copied into the
#               same scratch stage (demo-app/Dockerfile.prebuilt); works offline
# Env: DOCKER (default docker), RUST_IMAGE (builder image for the multi-stage build),
#      FAULT_ERROR_RATE / FAULT_LATENCY_MS (faults baked into the image config; default 0).
# kindling up / kindling release build the same two Dockerfiles through the Engine API.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
docker=${DOCKER:-docker}

prebuilt=false
if [ "${1:-}" = "--prebuilt" ]; then prebuilt=true; shift; fi
if [ $# -ne 3 ]; then
  echo "usage: $0 [--prebuilt] TAG VERSION COMMIT" >&2
  exit 2
fi
tag=$1 version=$2 commit=$3

# Built for the engine's architecture (arm64 on Apple silicon), as kindling does.
arch=$("$docker" version --format '{{.Server.Arch}}')
case "$arch" in
  amd64) rust_target=x86_64-unknown-linux-gnu ;;
  arm64) rust_target=aarch64-unknown-linux-gnu ;;
  *) echo "build-image.sh: no Rust target for the engine's architecture $arch" >&2; exit 1 ;;
esac
build_args=(--build-arg "VERSION=$version" --build-arg "COMMIT=$commit"
  --build-arg "FAULT_ERROR_RATE=${FAULT_ERROR_RATE:-0}" --build-arg "FAULT_LATENCY_MS=${FAULT_LATENCY_MS:-0}"
  --build-arg "ARCH=$arch" --build-arg "RUST_TARGET=$rust_target")
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT

if $prebuilt; then
  bin=$(RUST_TARGET=$rust_target "$here/build-binary.sh")
  # The context is the binary alone: nothing else is sent to the engine.
  cp "$bin" "$ctx/demo-app"
  "$docker" build -q -f "$here/Dockerfile.prebuilt" "${build_args[@]}" -t "$tag" "$ctx" >/dev/null
else
  # Send only the files git knows (tracked or new, not ignored): target/ stays out of the
  # context even with the classic builder, which ignores per-Dockerfile ignore files.
  (cd "$repo" && git ls-files -z -co --exclude-standard |
    tar --null --ignore-failed-read -T - -cf "$ctx/context.tar")
  args=("${build_args[@]}")
  [ -n "${RUST_IMAGE:-}" ] && args+=(--build-arg "RUST_IMAGE=$RUST_IMAGE")
  "$docker" build -f demo-app/Dockerfile "${args[@]}" -t "$tag" - <"$ctx/context.tar"
fi
echo "$tag"
