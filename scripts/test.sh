#!/usr/bin/env bash
# kindling's test command: prepares the machine when it can, then runs every test in the workspace.
set -euo pipefail
source "$(dirname "$0")/lib/prepare.sh"
cd "$ROOT"

ensure_packages
ensure_docker
build_standin_registry
build_crd_apiserver
install_helm || { [ "${CI:-}" = true ] && die "cannot install real Helm (helm-python-sdk from PyPI)"; say "no Helm: chart pull tests will report themselves skipped"; }
fetch_sid_tools || { [ "${CI:-}" = true ] && die "cannot fetch kind/kustomize from Debian unstable"; say "no kind/kustomize: interop tests will report themselves skipped"; }

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  cargo test --workspace --no-fail-fast "$@"
fi
