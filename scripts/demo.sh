#!/usr/bin/env bash
# make demo: one sandboxed node (its own network namespace) running a real dockerd, a real cilium-agent
# and this plugin; two labelled containers, their Cilium endpoints, traffic between them, and a
# label-selected policy that blocks it. Tears the node down at the end unless KEEP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "demo: run as root (it creates network namespaces)" >&2; exit 1; }

bold=; norm=
if [ -t 1 ]; then bold=$(tput bold 2>/dev/null || true); norm=$(tput sgr0 2>/dev/null || true); fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$norm"; }
show() { # the command as one would type it
  local out="" a
  for a in "$@"; do case $a in *[[:space:]\|\'\"]*) out+=" '$a'" ;; *) out+=" $a" ;; esac; done
  printf '%s$%s%s\n' "$bold" "$out" "$norm"
}
# The current pair by default; any pair the bed knows works (scripts/testbed.sh).
export DOCKER_VERSION=${DOCKER_VERSION:-29.8.1} CILIUM_VERSION=${CILIUM_VERSION:-1.20.2}
node() { scripts/testbed.sh exec 1 "$@"; }
run() { show "$@"; node "$@"; }

step "Preparing: packages (apt), Docker $DOCKER_VERSION and cilium-agent $CILIUM_VERSION (built once into the cache, ~25 min cold), the plugin"
scripts/install-deps.sh
scripts/build-cilium.sh "$CILIUM_VERSION" >/dev/null
scripts/build-docker.sh "$DOCKER_VERSION" >/dev/null
if [ ! -x bin/cilium-docker ] || [ ! -x bin/cilium-docker-policy ]; then make build; fi
PLUGIN_BIN=$(pwd)/bin/cilium-docker

if [ "${KEEP:-0}" != 1 ]; then
  trap 'step "Tearing the node down (KEEP=1 keeps it)"; scripts/testbed.sh down-all >/dev/null 2>&1 || true' EXIT
fi
step "Bringing up a node: etcd + cilium-agent + dockerd + cilium-docker in network namespace cdnode1"
scripts/testbed.sh up 1 >/dev/null
eval "$(scripts/testbed.sh env 1 | grep -E '^(ETCD_URL|TEST_IMAGE)=')"
run cilium status --brief

step "Creating a Docker network backed by Cilium"
run docker network create --driver cilium --ipam-driver cilium cilium-net

step "Starting two labelled containers"
quiet() { show "$@"; node "$@" >/dev/null; }
quiet docker run -d --pull never --init --name app1 -l name=app1 --net cilium-net "$TEST_IMAGE" sleep 1d
quiet docker run -d --pull never --init --name app2 -l name=app2 --net cilium-net "$TEST_IMAGE" \
  sh -c 'while true; do echo "hello from app2" | nc -l -p 8080; done'
app2=$(node docker inspect -f '{{(index .NetworkSettings.Networks "cilium-net").IPAddress}}' app2)

step "Cilium's endpoints: each container is ready under an identity made of its labels"
run cilium endpoint list

step "app1 -> app2 ($app2:8080): allowed, no policy yet"
run docker exec app1 sh -c "echo hi | nc -w 2 $app2 8080"

step "Applying a policy with cilium-docker policy apply: only containers labelled name=app3 may reach name=app2"
policy=$(mktemp -d)/app2.yaml
cat <<'YAML' >"$policy"
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: app2-from-app3-only}
spec:
  endpointSelector: {matchLabels: {name: app2}}
  ingress:
  - fromEndpoints:
    - matchLabels: {name: app3}
YAML
cat "$policy"
# Checked with Cilium's own parser, stored in the cluster's etcd; the node's plugin writes it into the
# agent's policy directory.
run "$PLUGIN_BIN" policy apply --etcd-endpoints "$ETCD_URL" "$policy"
for _ in $(seq 50); do   # the plugin writes it and the agent picks it up within a second
  node cilium policy get 2>/dev/null | grep -q app2-from-app3-only && break
  sleep 0.2
done
run "$PLUGIN_BIN" policy list --etcd-endpoints "$ETCD_URL"
run cilium endpoint list

step "app1 -> app2 again: now dropped by the policy"
if node docker exec app1 sh -c "echo hi | nc -w 2 $app2 8080"; then
  echo "unexpected: app1 still reaches app2" >&2; exit 1
fi
echo "(no answer: blocked)"

step "app3 -> app2: admitted by the same policy"
run docker run --rm --pull never --name app3 -l name=app3 --net cilium-net "$TEST_IMAGE" sh -c "echo hi | nc -w 2 $app2 8080"

if [ "${KEEP:-0}" = 1 ]; then
  step "Done. The node stays up: scripts/testbed.sh exec 1 docker ps (or cilium endpoint list); scripts/testbed.sh down-all"
else
  step "Done."
fi
