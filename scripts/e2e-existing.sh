#!/usr/bin/env bash
# The existing-cluster flow for real (.github/workflows/e2e.yml, job `existing`): a second kind
# cluster that kindling did not create stands in for a team's cluster — three nodes, none labelled
# ingress-ready, no host ports — with load-balancer addresses from cloud-provider-kind (kind's own
# load-balancer provider, which must be running: the workflow starts it) and a registry on the
# kind network as registry.push_host. Then: up → up again (changes nothing) → status → smoke →
# down --yes, and checks that down left the cluster as it found it.
# The DNS record `up` asks for is made the way a user would: once the load balancer has an
# address, the names go into /etc/hosts (sudo), while `up` waits for them to resolve.
# Needs Docker, internet, kind and kubectl on PATH, and sudo for /etc/hosts.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin kindling
kindling=$PWD/target/release/kindling
out=e2e-existing-diagnostics
cluster=team
registry=team-registry
domain=platform.e2e.test
kubeconfig=$PWD/e2e-team.kubeconfig
k() { kubectl --kubeconfig "$kubeconfig" "$@"; }

diagnose() {
  set +e
  mkdir -p "$out"
  "$kindling" status --output json >"$out/status.json" 2>&1
  k get nodes -o wide >"$out/nodes.txt" 2>&1
  k get pods,svc,ingress -A -o wide >"$out/objects.txt" 2>&1
  k get events -A --sort-by=.lastTimestamp >"$out/events.txt" 2>&1
  k get applications.argoproj.io -A -o yaml >"$out/applications.yaml" 2>&1
  k -n kube-public get configmap kindling-inventory -o yaml >"$out/inventory.yaml" 2>&1
  echo "diagnostics in $out/" >&2
}
trap 'diagnose' ERR

# The team's cluster: made by kind, not by kindling; containerd reads registry hosts.toml.
cat <<KIND | kind create cluster --name "$cluster" --config - --wait 120s
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
  - role: control-plane
  - role: worker
  - role: worker
containerdConfigPatches:
  - |-
    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = "/etc/containerd/certs.d"
KIND
kind get kubeconfig --name "$cluster" >"$kubeconfig"
# The team's registry: pushed to from here as localhost:5002, pulled by the nodes (and Argo CD)
# as team-registry:5000 over plain HTTP.
docker run -d --restart=always --name "$registry" --network kind -p 127.0.0.1:5002:5000 registry:3
for node in $(kind get nodes --name "$cluster"); do
  docker exec "$node" mkdir -p "/etc/containerd/certs.d/$registry:5000"
  printf '[host."http://%s:5000"]\n' "$registry" |
    docker exec -i "$node" cp /dev/stdin "/etc/containerd/certs.d/$registry:5000/hosts.toml"
done

export KINDLING_CLUSTER_PROVIDER=existing
export KINDLING_CLUSTER_NAME=team-platform
export KINDLING_CLUSTER_KUBECONFIG=$kubeconfig
export KINDLING_CLUSTER_CONTEXT=kind-$cluster
export KINDLING_NETWORK_DOMAIN=$domain
export KINDLING_REGISTRY_PUSH_HOST=localhost:5002
export KINDLING_REGISTRY_CLUSTER_HOST=$registry:5000
export KINDLING_REGISTRY_PLAIN_HTTP=true
KINDLING_DEMO_BINARY=$(demo-app/build-binary.sh)
export KINDLING_DEMO_BINARY

k get ns -o name | sort >e2e-existing-namespaces-before.txt
"$kindling" doctor

# The DNS record: *.<domain> → the load balancer's address, once it has one.
(
  for _ in $(seq 600); do
    ip=$(k -n traefik get service traefik -o jsonpath='{.status.loadBalancer.ingress[0].ip}' 2>/dev/null || true)
    if [ -n "$ip" ]; then
      names=""
      for app in demo staging-demo prod-demo argocd grafana prometheus rollouts; do names="$names $app.$domain"; done
      echo "$ip$names # kindling e2e-existing" | sudo tee -a /etc/hosts >/dev/null
      exit 0
    fi
    sleep 2
  done
) &
dns=$!

"$kindling" up
wait "$dns"
# Idempotence: a second up reports no step created or changed.
if "$kindling" --output json up | grep -E '"outcome":"(created|changed)"'; then
  echo "a second up changed something (above)" >&2
  false
fi
"$kindling" status
"$kindling" smoke --profile fast --junit e2e-existing-junit.xml --report e2e-existing-report.html

# down without --yes (no terminal) refuses; with it, removes what up made and nothing else.
if "$kindling" down; then
  echo "down without --yes removed things without asking" >&2
  false
fi
"$kindling" down --yes
k get ns -o name | sort >e2e-existing-namespaces-after.txt
diff -u e2e-existing-namespaces-before.txt e2e-existing-namespaces-after.txt
if k -n kube-public get configmap kindling-inventory >/dev/null 2>&1; then
  echo "kindling's record is still there" >&2
  false
fi
if [ -n "$(k get crd -o name | grep -E 'argoproj.io|cert-manager.io|monitoring.coreos.com|traefik.io')" ]; then
  echo "CRDs kindling installed are still there:" >&2
  k get crd -o name >&2
  false
fi

sudo sed -i '/# kindling e2e-existing$/d' /etc/hosts
kind delete cluster --name "$cluster"
docker rm -f "$registry"
