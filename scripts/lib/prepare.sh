# Prepares what kindling's test suite needs on this machine. Sourced by scripts/test.sh and scripts/bench.sh.
# On Debian/Ubuntu as root it installs missing packages and starts dockerd; elsewhere it only checks.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SHARED_DIR=${KINDLING_SHARED_DIR:-$ROOT/../shared}
TEST_CACHE=${KINDLING_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kindling-test}
export KINDLING_TEST_REGISTRY_IMAGE=${KINDLING_TEST_REGISTRY_IMAGE:-kindling-test/registry:2.8}

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

is_root_debian() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }

# Installs the Debian packages the suite uses, once. Without root or apt it leaves the machine alone.
# chromium lays out the HTML report in tests/scenario_report_browser.rs.
ensure_packages() {
  local want=(docker.io docker-registry prometheus wrk openssl ca-certificates busybox-static chromium) missing=()
  for p in "${want[@]}"; do
    # Any working Docker will do (Docker CE on a CI runner must not be replaced by docker.io).
    [ "$p" = docker.io ] && command -v dockerd >/dev/null && continue
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if is_root_debian; then
    say "installing ${missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    say "not installing ${missing[*]} (needs root on Debian/Ubuntu); tests that need them may fail"
  fi
}

docker_answers() { timeout 5 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# Starts dockerd in the background when no engine answers, and waits for it.
ensure_docker() {
  docker_answers && return 0
  if [ "$(id -u)" = 0 ] && command -v dockerd >/dev/null; then
    say "starting dockerd (log: $TEST_CACHE/dockerd.log)"
    mkdir -p "$TEST_CACHE"
    # Its own session: it outlives the shell (and process group) that started it.
    setsid nohup dockerd >"$TEST_CACHE/dockerd.log" 2>&1 </dev/null &
    for _ in $(seq 1 60); do docker_answers && return 0; sleep 0.5; done
    tail -20 "$TEST_CACHE/dockerd.log" >&2 || true
  fi
  if [ "${CI:-}" = true ]; then
    die "no Docker engine answers and none could be started: Docker-backed tests are never skipped under CI=true"
  fi
  say "no Docker engine: Docker-backed tests will report themselves skipped"
  export KINDLING_TEST_NO_DOCKER=1
}

# The stand-in for registry:3 (DESIGN.md): Debian's distribution 2.8 binary with its glibc, FROM scratch.
build_standin_registry() {
  docker_answers || return 0
  docker image inspect "$KINDLING_TEST_REGISTRY_IMAGE" >/dev/null 2>&1 && return 0
  command -v docker-registry >/dev/null || die "docker-registry is not installed (apt-get install docker-registry)"
  say "building stand-in registry image $KINDLING_TEST_REGISTRY_IMAGE"
  local ctx; ctx=$(mktemp -d)
  cp /usr/bin/docker-registry "$ctx/registry"
  cp "$(ldd /usr/bin/docker-registry | awk '/libc.so.6/ {print $3}')" "$ctx/libc.so.6"
  local loader; loader=$(ldd /usr/bin/docker-registry | awk '/ld-linux/ {print $1}')
  cp "$loader" "$ctx/loader"
  cat >"$ctx/config.yml" <<'YAML'
version: 0.1
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
http:
  addr: :5000
YAML
  cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM scratch
COPY libc.so.6 /lib/x86_64-linux-gnu/libc.so.6
COPY loader $loader
COPY registry /bin/registry
COPY config.yml /etc/docker/registry/config.yml
VOLUME /var/lib/registry
EXPOSE 5000
ENTRYPOINT ["/bin/registry"]
CMD ["serve", "/etc/docker/registry/config.yml"]
DOCKERFILE
  docker build -q -t "$KINDLING_TEST_REGISTRY_IMAGE" "$ctx" >/dev/null
  rm -rf "$ctx"
}

# A real apiextensions-apiserver for custom resources (../shared/tools/crd-apiserver), built once.
build_crd_apiserver() {
  local tool="$SHARED_DIR/tools/crd-apiserver"
  if [ ! -x "$tool/build.sh" ]; then
    [ "${CI:-}" = true ] && die "$tool is missing: CI needs ../shared (set KINDLING_SHARED_DIR)"
    say "no $tool: custom-resource tests will report themselves skipped"
    return 0
  fi
  export KINDLING_CRD_APISERVER="$TEST_CACHE/crd-apiserver"
  if [ ! -x "$KINDLING_CRD_APISERVER/bin/crd-apiserver" ]; then
    say "building crd-apiserver into $KINDLING_CRD_APISERVER (~3 min once)"
  fi
  "$tool/build.sh" "$KINDLING_CRD_APISERVER" >"$TEST_CACHE/crd-apiserver-build.log" 2>&1 \
    || { tail -30 "$TEST_CACHE/crd-apiserver-build.log" >&2; die "crd-apiserver build failed"; }
}

export KINDLING_SHARED_DIR="$SHARED_DIR"
mkdir -p "$TEST_CACHE"

# Real upstream CLIs for interop tests, from Debian unstable, unpacked (not installed) into
# $TEST_CACHE/sid-tools: kind 0.33, kustomize, kubectl. Sets KINDLING_TEST_KIND / _KUSTOMIZE / _KUBECTL.
fetch_sid_tools() {
  local dir="$TEST_CACHE/sid-tools"
  if [ ! -x "$dir/root/usr/bin/kind" ] || [ ! -x "$dir/root/usr/bin/kustomize" ]; then
    say "fetching kind, kustomize and kubectl from Debian unstable into $dir"
    mkdir -p "$dir/lists/partial" "$dir/debs" "$dir/root"
    echo "deb http://deb.debian.org/debian sid main" >"$dir/sources.list"
    local apt=(apt-get -q -o Dir::Etc::SourceList="$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o Dir::State::Lists="$dir/lists" -o Dir::Cache::Archives="$dir/debs" -o Debug::NoLocking=1)
    "${apt[@]}" update >"$dir/apt.log" 2>&1 || { tail "$dir/apt.log" >&2; return 1; }
    (cd "$dir/debs" && "${apt[@]}" download kind kustomize kubernetes-client >>"$dir/apt.log" 2>&1) \
      || { tail "$dir/apt.log" >&2; return 1; }
    for deb in "$dir"/debs/*.deb; do dpkg -x "$deb" "$dir/root"; done
  fi
  export KINDLING_TEST_KIND="$dir/root/usr/bin/kind"
  export KINDLING_TEST_KUSTOMIZE="$dir/root/usr/bin/kustomize"
  export KINDLING_TEST_KUBECTL="$dir/root/usr/bin/kubectl"
}

# Real Helm v4 (the helm-python-sdk wheel from PyPI, via ../shared/tools/helm-render/install.sh)
# into $TEST_CACHE/helm-render, for tests that pull charts the way Argo CD's repo-server does.
# Sets KINDLING_TEST_HELM_PYTHON.
install_helm() {
  local tool="$SHARED_DIR/tools/helm-render/install.sh"
  [ -x "$tool" ] || return 1
  "$tool" "$TEST_CACHE/helm-render" >"$TEST_CACHE/helm-render-install.log" 2>&1 \
    || { tail -5 "$TEST_CACHE/helm-render-install.log" >&2; return 1; }
  export KINDLING_TEST_HELM_PYTHON="$TEST_CACHE/helm-render/bin/python"
}
