#!/usr/bin/env bash
# Builds the statically linked release binary of demo-app on the host (glibc, crt-static) and
# prints its path. The image (Dockerfile.prebuilt) and the benchmark use this same binary, so
# one release build serves both. It uses the `demo` profile (release + fat LTO, one codegen
# unit, panic=abort; root Cargo.toml), which the multi-stage Dockerfile uses too.
# The target is this machine's architecture (x86_64 or aarch64, e.g. an arm64 Linux VM on
# Apple silicon); RUST_TARGET overrides it. It prints the target on stderr.
# Usage: demo-app/build-binary.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
rust_target() {
  case "$1" in
    x86_64 | amd64) echo x86_64-unknown-linux-gnu ;;
    aarch64 | arm64) echo aarch64-unknown-linux-gnu ;;
    *) echo "build-binary.sh: no Rust target for architecture $1" >&2; return 1 ;;
  esac
}
target=${RUST_TARGET:-$(rust_target "$(uname -m)")}
cd "$repo"
# --target keeps RUSTFLAGS away from build scripts and proc macros, which cannot be static.
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
  cargo build --profile demo --locked -q -p demo-app --target "$target" >&2
bin="${CARGO_TARGET_DIR:-$repo/target}/$target/demo/demo-app"
if ! file -L "$bin" | grep -Eq 'statically linked|static-pie linked'; then
  echo "build-binary.sh: $bin is not statically linked: $(file -L "$bin")" >&2
  exit 1
fi
echo "$bin"
