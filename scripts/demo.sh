#!/usr/bin/env bash
# make demo: the two-node walkthrough of compose/README.md, as a user runs it. Two sandboxed hosts (network
# namespaces of the test bed, each with its own dockerd) each run the repository's compose stack with
# `docker compose` (etcd with mutual TLS on node 1, cilium-agent and cilium-docker on both), from copies of
# compose/ with their .env and the certificates of `cilium-docker certs`, on images built offline under the
# official names (scripts/build-images.sh). Then app1 and app3 on node 1, app2 on node 2, a label policy
# applied with `cilium-docker policy apply` through etcd: app1 blocked, app3 admitted. Every command is
# printed as the user types it, prefixed with the host it runs on. Tears both nodes down unless KEEP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "demo: run as root (it creates network namespaces)" >&2; exit 1; }
repo=$(pwd)

bold=; norm=
if [ -t 1 ]; then bold=$(tput bold 2>/dev/null || true); norm=$(tput sgr0 2>/dev/null || true); fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$norm"; }
show() { # HOST CMD...: the command as one would type it on HOST
  local host=$1 out="" a
  shift
  for a in "$@"; do case $a in *[[:space:]\|\'\"\<\>]*) out+=" '$a'" ;; *) out+=" $a" ;; esac; done
  printf '%s%s$%s%s\n' "$bold" "$host" "$out" "$norm"
}
# The current agent of the matrix (internal/matrix) on Debian's engine (docker.io 20.10, installed, nothing
# to build) unless set. Cold on 2 cores that is about 20 minutes, the agent's build most of it; building the
# current engine as well (DOCKER_VERSION=29.8.1) made it 25. The matrix runs the stack on both engines.
DOCKER_VERSION=${DOCKER_VERSION:-$(go run ./cmd/testbed version docker-debian)}
CILIUM_VERSION=${CILIUM_VERSION:-$(go run ./cmd/testbed version cilium)}
export DOCKER_VERSION CILIUM_VERSION PLUGIN_MODE=stack
work=$(mktemp -d /tmp/cilium-docker-demo.XXXXXX)
on() { # N CMD...: run CMD on node N, in its project directory, with `docker compose`
  (cd "$work/node$1" && scripts_exec "$@")
}
scripts_exec() { local n=$1; shift; "$repo/scripts/testbed.sh" exec "$n" env "DOCKER_CONFIG=$compose_cfg" "$@"; }
run() { show "node$1" "${@:2}"; on "$@"; }
quiet() { show "node$1" "${@:2}"; on "$@" >/dev/null; }

step "Preparing: packages (apt), Docker $DOCKER_VERSION, cilium-agent $CILIUM_VERSION, etcd and docker compose (built once into the cache: about 20 min cold on 2 cores, 25 with DOCKER_VERSION=29.8.1), the plugin"
t0=$SECONDS
scripts/install-deps.sh
# The builds side by side (each script has its own lock and cache): one's module download or link
# overlaps another's compile.
builds=()
scripts/build-cilium.sh "$CILIUM_VERSION" >/dev/null & builds+=($!)
scripts/build-docker.sh "$DOCKER_VERSION" >/dev/null & builds+=($!)
scripts/build-etcd.sh >/dev/null & builds+=($!)
scripts/build-compose.sh >"$work/compose.dir" & builds+=($!)
make build >/dev/null & builds+=($!)
for b in "${builds[@]}"; do wait "$b"; done
compose_cfg=$(tail -n1 "$work/compose.dir")
PLUGIN_BIN=$repo/bin/cilium-docker
export PLUGIN_BIN

# The agent's service binds /lib/modules; docker creates it on a host whose kernel has none. Undo that.
lib_modules=keep
[ -e /lib/modules ] || lib_modules=remove
if [ "${KEEP:-0}" != 1 ]; then
  trap 'step "Tearing both nodes down (KEEP=1 keeps them)"; scripts/testbed.sh down-all >/dev/null 2>&1 || true; rm -rf "$work"
        [ "$lib_modules" = keep ] || rmdir /lib/modules 2>/dev/null || true' EXIT
fi
step "Two hosts: network namespaces cdnode1 and cdnode2 on one fabric, each with its own dockerd"
scripts/testbed.sh down-all >/dev/null 2>&1 || true
declare -A ip name
for n in 1 2; do
  scripts/testbed.sh up "$n" >/dev/null
  ip[$n]=$(scripts/testbed.sh env "$n" | sed -n 's/^NODE_IP=//p')
  name[$n]=$(scripts/testbed.sh env "$n" | sed -n 's/^NODE_NAME=//p')
done
for n in 1 2; do
  # The project as compose/README.md says: a copy of compose/ with the node's .env (testbed stack; it also
  # sets CILIUM_AGENT_MEMLOCK where dockerd cannot raise the agent's memlock limit). Node 1's range by hand
  # (POD_RANGE), node 2's from the cluster pool (its first /20 is inside the bed's range for node 2).
  extra=()
  if [ "$n" = 2 ]; then extra=(POD_RANGE= POD_POOL=10.72.0.0/14); fi
  scripts/testbed.sh stack "$n" "$work/node$n" "$work/pki" "${ip[1]}" "${extra[@]}" >/dev/null
  range=$(sed -n 's/^POD_RANGE=//p' "$work/node$n/.env") pool=$(sed -n 's/^POD_POOL=//p' "$work/node$n/.env")
  echo "node$n: ${name[$n]}, ${ip[$n]}, containers in ${range:-the first free /20 of $pool}; compose project $work/node$n"
done

step "The images, offline under the official names (make images; a host with a registry pulls them)"
for n in 1 2; do
  DOCKER_HOST=$(scripts/testbed.sh env "$n" | sed -n 's/^DOCKER_HOST=//p') DOCKER=/usr/bin/docker \
    CILIUM_VERSIONS=$CILIUM_VERSION scripts/build-images.sh 2>/dev/null | sed "s/^/node$n: /"
done

step "The cluster's certificates (etcd takes only clients with one): the CA, then each node's"
show admin cilium-docker certs init --dir "$work/pki"
"$PLUGIN_BIN" certs init --dir "$work/pki"
for n in 1 2; do
  show admin cilium-docker certs node --dir "$work/pki" --etcd-endpoints "https://${ip[1]}:2379" "${name[$n]}" "${ip[$n]}"
  "$PLUGIN_BIN" certs node --dir "$work/pki" --etcd-endpoints "https://${ip[1]}:2379" "${name[$n]}" "${ip[$n]}"
done

step "The stacks: etcd + cilium-agent + cilium-docker on node 1, cilium-agent + cilium-docker on node 2"
cat "$work/node1/.env"
run 1 docker compose -f node1.yml up -d --wait
run 2 docker compose -f node2.yml up -d --wait
run 1 docker compose -f node1.yml ps
step "Each node's range, claimed in etcd before its agent started: node 1's by hand, node 2's from the pool"
run 1 docker exec cilium-docker /cilium-docker node list
run 1 docker exec cilium-agent cilium-dbg status --brief

step "A Docker network backed by Cilium, on each node"
quiet 1 docker network create --driver cilium --ipam-driver cilium cilium-net
quiet 2 docker network create --driver cilium --ipam-driver cilium cilium-net

step "Labelled containers: app1 and app3 on node 1, app2 (answers on TCP 8080) on node 2"
img=cdbusybox   # the bed's offline busybox
quiet 1 docker run -d --pull never --name app1 -l name=app1 --net cilium-net "$img" sleep 1d
quiet 1 docker run -d --pull never --name app3 -l name=app3 --net cilium-net "$img" sleep 1d
quiet 2 docker run -d --pull never --name app2 -l name=app2 --net cilium-net "$img" \
  sh -c 'while true; do echo pong | nc -l -p 8080; done'
app2=$(on 2 docker inspect -f '{{(index .NetworkSettings.Networks "cilium-net").IPAddress}}' app2)
echo "app2 is $app2"
run 1 docker exec cilium-agent cilium-dbg endpoint list

step "app3 -> app2 across the nodes (VXLAN): admitted by the shipped policies/app2-from-app3.yaml"
run 1 docker exec app3 sh -c "echo ping | nc -w 2 $app2 8080"
step "app1 -> app2: no answer, the shipped file admits only app3"
show node1 docker exec app1 sh -c "echo ping | nc -w 2 $app2 8080"
if on 1 docker exec app1 sh -c "echo ping | nc -w 2 $app2 8080"; then echo "unexpected: app1 reaches app2" >&2; exit 1; fi
echo "(no answer)"

step "The same rule kept in etcd instead, in force on every node: remove the file on each node, apply it"
for n in 1 2; do show "node$n" rm policies/app2-from-app3.yaml; rm "$work/node$n/policies/app2-from-app3.yaml"; done
policy() { # N ARGS...: cilium-docker policy in node N's plugin container, with the policy certificate
  local n=$1; shift
  on "$n" docker exec -i -e CILIUM_DOCKER_ETCD_CERT=/etc/cilium-docker/etcd/cilium-docker-policy.crt \
    -e CILIUM_DOCKER_ETCD_KEY=/etc/cilium-docker/etcd/cilium-docker-policy.key cilium-docker /cilium-docker policy "$@"
}
cat compose/policy-examples/app2-from-app3.json
show node1 policy apply - "<" policy-examples/app2-from-app3.json
policy 1 apply - <compose/policy-examples/app2-from-app3.json
for _ in $(seq 50); do   # each node's plugin writes it for its agent and reports back within a second or so
  out=$(policy 1 list 2>/dev/null || true)
  if grep -q "${name[1]}=" <<<"$out" && grep -q "${name[2]}=" <<<"$out"; then break; fi
  sleep 0.2
done
show node1 policy list
policy 1 list

step "app1 -> app2: dropped by the policy from etcd"
show node1 docker exec app1 sh -c "echo ping | nc -w 2 $app2 8080"
if on 1 docker exec app1 sh -c "echo ping | nc -w 2 $app2 8080"; then echo "unexpected: app1 reaches app2" >&2; exit 1; fi
echo "(no answer: blocked)"
run 2 docker exec cilium-docker /cilium-docker flows app2 --verdict DROPPED --since 1m
step "app3 -> app2: admitted"
run 1 docker exec app3 sh -c "echo ping | nc -w 2 $app2 8080"

step "Done in $((SECONDS - t0)) s."
if [ "${KEEP:-0}" = 1 ]; then
  echo "The nodes stay up: scripts/testbed.sh exec 1 docker ps; projects in $work; scripts/testbed.sh down-all"
fi
