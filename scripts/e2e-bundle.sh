#!/usr/bin/env bash
# The offline proof, for a machine with Docker and internet (.github/workflows/e2e.yml): a
# bundle made after a connected `up` — or restored from the CI cache (BUNDLE already there) —
# then, with everything local removed (caches, images, downloads) and the network blocked,
# `up --bundle` brings the platform up again and the delivery scenarios pass.
# Blocked: containers' traffic off the machine (DOCKER-USER) and root's (dockerd's pulls);
# kindling itself is given a dead proxy. The runner's own user is not blocked (the job's agent
# talks to GitHub as that user), so `docker events` and the proxy are what prove nothing left.
# Needs sudo for iptables. It cannot run on kindling's own offline CI machine.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin kindling
kindling=$PWD/target/release/kindling
bundle=${BUNDLE:-e2e-bundle/kindling-bundle.tar}

if [ ! -f "$bundle" ]; then
  echo "==> no cached bundle: a connected up, then bundle create"
  "$kindling" up --yes
  mkdir -p "$(dirname "$bundle")"
  "$kindling" bundle create --out "$bundle" --platform linux/amd64 --host linux/amd64
fi
"$kindling" bundle inspect "$bundle"

echo "==> a second laptop: nothing of the first one left"
"$kindling" down --purge --yes || true
docker image prune -af >/dev/null
rm -rf "${XDG_CACHE_HOME:-$HOME/.cache}/kindling"

iface=$(ip route show default | awk '{print $5; exit}')
unblock() {
  sudo iptables -D DOCKER-USER -o "$iface" -j REJECT 2>/dev/null || true
  sudo iptables -D OUTPUT -o "$iface" -m owner --uid-owner 0 -j REJECT 2>/dev/null || true
}
trap unblock EXIT
echo "==> network blocked on $iface for containers and root"
sudo iptables -I DOCKER-USER -o "$iface" -j REJECT
sudo iptables -I OUTPUT -o "$iface" -m owner --uid-owner 0 -j REJECT

export HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 NO_PROXY=127.0.0.1,localhost
since=$(date +%s)
"$kindling" up --yes --bundle "$bundle"
"$kindling" status
# Releases build the demo image too: from the bundle's demo-app binary.
KINDLING_DEMO_BINARY="${XDG_CACHE_HOME:-$HOME/.cache}/kindling/bundle/demo-app/linux-amd64/demo-app"
export KINDLING_DEMO_BINARY
"$kindling" smoke --profile fast
pulls=$(docker events --since "$since" --until "$(date +%s)" --filter type=image --filter event=pull \
  --format '{{.Actor.ID}}' | grep -v '^localhost:' || true)
if [ -n "$pulls" ]; then
  echo "Docker pulled from an upstream while offline: $pulls" >&2
  exit 1
fi
"$kindling" down --yes
