#!/usr/bin/env bash
# Stand-in images under the official names the compose files use, for machines WITHOUT A REGISTRY (the
# test bed, an offline host). A host that can pull needs none of this: `docker compose` pulls the official
# images. Built from what the project builds and caches, offline except for Debian's packages (once):
#
#   quay.io/cilium/cilium:v<VER>  one per agent version: a Debian 12 root filesystem (mmdebstrap
#       --variant=minbase with clang-19, llvm-19, iproute2, iptables, ipset, kmod, ca-certificates),
#       cilium-agent and cilium-dbg in /usr/bin with a `cilium` link to cilium-dbg, the agent build's bpf/
#       at /var/lib/cilium/bpf (scripts/build-cilium.sh), PATH starting with /usr/lib/llvm-19/bin (Debian
#       names its clang clang-19 in /usr/bin), WORKDIR /home/cilium, CMD cilium-dbg as upstream.
#       Left out of cilium's images/cilium/Dockerfile (v1.20.2): cilium-envoy and cilium-envoy-starter (L7
#       policy needs them), hubble CLI, cilium-health(-responder), cilium-bugtool, cilium-mount,
#       cilium-sysctlfix, the CNI plugin and its install scripts, init-container.sh, bpftool, gops,
#       iptables-wrapper, CNI loopback, bash completion, cilium's own LLVM 19.1.7 build (Debian's 19 here),
#       and the Ubuntu base.
#   quay.io/coreos/etcd:v<ETCD>   etcd and etcdctl of the version go.mod pins (scripts/build-etcd.sh),
#       static, in /usr/local/bin; nothing else, no shell (upstream: distroless, plus etcdutl).
#   cilium-docker:<version> and :latest   scripts/image.sh from bin/ (`make build`), every run.
#
# Agent and etcd images: loaded (`docker load`) from a `docker save` tarball in the cache
# ($CACHE/images/cilium-v<VER>-<key>.tar, etcd-v<ETCD>-<key>.tar; the key hashes the recipe) when there
# is one; else built (docker import of the root filesystem as a base, then a legacy-builder `docker
# build`) and saved there, under a temporary name renamed when complete. The root filesystem tarball is
# cached as well ($CACHE/images/rootfs-bookworm-minbase-<key>.tar, keyed by the package list). An image
# the daemon already has with this script's label and key is left as it is ("present"); one under the
# name without the label (an official image) is never replaced ("kept").
#
# Usage: build-images.sh [AGENT_VERSION...]   default: $CILIUM_VERSIONS, else every agent of the matrix
#        (internal/matrix: `go run ./cmd/testbed agents`)
# Prints one line per image: REFERENCE built|loaded|present|kept SECONDS.
# Environment: DOCKER_HOST the daemon (a bed node's in the tests); DOCKER the docker CLI (default docker);
#   IMAGES which images (default "agent etcd plugin"); CILIUM_DOCKER_CACHE / XDG_CACHE_HOME the cache
#   root, as scripts/build-cilium.sh; PLUGIN_BIN, POLICY_BIN as scripts/image.sh; DEBIAN_MIRROR a mirror
#   for mmdebstrap (default its own, deb.debian.org).
# Cold: the root filesystem ~45 s, each agent image ~1 min on 2 cores, plus the cilium and etcd builds
# when they are not cached (~15 min per agent version). Warm: a `docker load` of ~1 GB per agent.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DOCKER=${DOCKER:-docker}
IMAGES=${IMAGES:-agent etcd plugin}
read -r -a AGENT_VERSIONS <<<"${*:-${CILIUM_VERSIONS:-$(go -C "$SCRIPT_DIR/.." run ./cmd/testbed agents | tr '\n' ' ')}}"
CACHE_ROOT=${CILIUM_DOCKER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cilium-docker}
IMG_CACHE=$CACHE_ROOT/images
# The legacy builder: no BuildKit, no buildx (the bed's CLI has none), and FROM a local image pulls nothing.
export DOCKER_BUILDKIT=0

LABEL=io.cilium-docker.stand-in   # value: the cache file's name without .tar
SUITE=bookworm
VARIANT=minbase
PACKAGES=clang-19,llvm-19,iproute2,iptables,ipset,kmod,ca-certificates
LLVM_BIN=/usr/lib/llvm-19/bin
STD_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

log() { echo "build-images: $*" >&2; }
die() { log "$*"; exit 1; }
now() { date +%s; }
hash12() { sha256sum | cut -c1-12; }

for v in "${AGENT_VERSIONS[@]}"; do
  [[ "$v" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "agent version '$v' is not X.Y.Z"
done
for i in $IMAGES; do
  [[ "$i" =~ ^(agent|etcd|plugin)$ ]] || die "IMAGES: unknown image '$i' (agent, etcd, plugin)"
done
"$DOCKER" version --format '{{.Server.Version}}' >/dev/null ||
  die "no docker daemon at ${DOCKER_HOST:-the default socket}"
mkdir -p "$IMG_CACHE"

# Temporary files and directories of this run; removed at exit, so an interrupted run leaves no half file.
# A run killed outright (SIGKILL) leaves its temporary files: the next build removes them under the lock.
TMPS=()
cleanup() { [ "${#TMPS[@]}" -eq 0 ] || rm -rf "${TMPS[@]}"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
new_ctx() { CTX=$(mktemp -d "$IMG_CACHE/.tmp.XXXXXX"); TMPS+=("$CTX"); }

# Builds take one lock per cache (a second caller waits, then loads what the first saved); loads need none.
# Every temporary file is written under the lock, so those found once it is taken are left over.
LOCKED=0
lock_builds() {
  [ "$LOCKED" = 1 ] && return
  exec 8>"$IMG_CACHE/.build.lock"
  if ! flock -n 8; then log "another build holds $IMG_CACHE/.build.lock, waiting"; flock 8; fi
  LOCKED=1
  rm -rf "$IMG_CACHE"/.tmp[.-]* "$IMG_CACHE"/*.tmp.*   # ours, and the docker CLI's own for save -o
}

# image_state REF KEY: present (ours, this key), kept (the name without our label), or absent/stale.
image_state() {
  local label
  if ! label=$("$DOCKER" image inspect --format "{{index .Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null); then
    echo absent
  elif [ "$label" = "$2" ]; then echo present
  elif [ -z "$label" ] || [ "$label" = "<no value>" ]; then echo kept
  else echo stale
  fi
}

# save_atomic REF FILE: docker save under a temporary name, then rename; drops other keys of the image.
save_atomic() {
  local ref=$1 file=$2 tmp
  tmp="$file.tmp.$$"
  TMPS+=("$tmp")
  "$DOCKER" save -o "$tmp" "$ref"
  mv "$tmp" "$file"
  local prefix old
  prefix=${file%-*}
  for old in "$prefix"-*.tar; do
    [ "$old" = "$file" ] || [ ! -f "$old" ] || { log "removing $old (another recipe)"; rm -f "$old"; }
  done
}

# ensure REF KEY BUILD_FUNCTION: the cached tarball IMG_CACHE/KEY.tar, loaded or built; one output line.
ensure() {
  local ref=$1 key=$2 build=$3 t0 state file
  t0=$(now)
  file="$IMG_CACHE/$key.tar"
  state=$(image_state "$ref" "$key")
  case "$state" in
    kept) ;;
    present)
      # Built here by a run stopped before its save: save it now, so the next daemon loads it.
      if [ ! -f "$file" ]; then
        lock_builds
        if [ ! -f "$file" ]; then log "saving $ref to $file"; save_atomic "$ref" "$file"; fi
      fi
      ;;
    *)
      if [ ! -f "$file" ]; then
        lock_builds
      fi
      if [ -f "$file" ]; then
        log "loading $ref from $file"
        "$DOCKER" load -q -i "$file" >/dev/null
        state=loaded
      else
        log "building $ref"
        "$build" "$ref" "$key"
        log "saving $ref to $file"
        save_atomic "$ref" "$file"
        state=built
      fi
      [ "$(image_state "$ref" "$key")" = present ] || die "$ref: not labelled $LABEL=$key after $state"
      ;;
  esac
  [ "$state" = kept ] && log "$ref is on the daemon without label $LABEL (an official image?): left alone"
  echo "$ref $state $(( $(now) - t0 ))s"
}

# ------------------------------------------------------------------ the agent's base

ROOTFS_KEY=rootfs-$SUITE-$VARIANT-$(printf '%s\n' "$SUITE" "$VARIANT" "$PACKAGES" | hash12)
ROOTFS_TAR=$IMG_CACHE/$ROOTFS_KEY.tar
BASE_REF=cilium-docker-stand-in/agent-base:${ROOTFS_KEY##*-}

rootfs() { # the mmdebstrap tarball, cached by the package list
  [ -f "$ROOTFS_TAR" ] && return
  command -v mmdebstrap >/dev/null || die "mmdebstrap is required (scripts/install-deps.sh installs it)"
  local t0 tmp
  t0=$(now)
  tmp="$ROOTFS_TAR.tmp.$$"
  TMPS+=("$tmp")
  log "mmdebstrap $SUITE ($VARIANT, $PACKAGES) -> $ROOTFS_TAR"
  mmdebstrap --quiet --variant="$VARIANT" --include="$PACKAGES" --format=tar \
    "$SUITE" "$tmp" ${DEBIAN_MIRROR:+"$DEBIAN_MIRROR"}
  mv "$tmp" "$ROOTFS_TAR"
  log "root filesystem in $(( $(now) - t0 ))s, $(du -m "$ROOTFS_TAR" | cut -f1) MB"
}

base_image() { # the root filesystem imported on this daemon, once per run
  "$DOCKER" image inspect "$BASE_REF" >/dev/null 2>&1 && return
  rootfs
  log "importing $ROOTFS_TAR as $BASE_REF"
  "$DOCKER" import --change "ENV PATH=$STD_PATH" "$ROOTFS_TAR" "$BASE_REF" >/dev/null
}

agent_dockerfile() { # VERSION KEY
  cat <<EOF
FROM $BASE_REF
COPY root/ /
ENV PATH=$LLVM_BIN:$STD_PATH
ENV INITSYSTEM=SYSTEMD
WORKDIR /home/cilium
CMD ["/usr/bin/cilium-dbg"]
LABEL $LABEL=$2 org.opencontainers.image.version=v$1 org.opencontainers.image.description="cilium-docker stand-in for quay.io/cilium/cilium:v$1 (scripts/build-images.sh)"
EOF
}

build_agent() { # REF KEY
  local ref=$1 key=$2 version=${1##*:v} dir ctx
  dir=$("$SCRIPT_DIR/build-cilium.sh" "$version" 8>&- | tail -n1)
  if ! { [ -x "$dir/bin/cilium-agent" ] && [ -x "$dir/bin/cilium-dbg" ] && [ -d "$dir/lib/bpf" ]; }; then
    die "scripts/build-cilium.sh $version left no agent in $dir"
  fi
  base_image
  new_ctx
  ctx=$CTX
  mkdir -p "$ctx/root/usr/bin" "$ctx/root/var/lib/cilium"
  # Hard links where the cache shares a file system with the context (it does: both under IMG_CACHE's root).
  cp -l "$dir/bin/cilium-agent" "$dir/bin/cilium-dbg" "$ctx/root/usr/bin/" 2>/dev/null ||
    cp "$dir/bin/cilium-agent" "$dir/bin/cilium-dbg" "$ctx/root/usr/bin/"
  ln -s cilium-dbg "$ctx/root/usr/bin/cilium"
  cp -r "$dir/lib/bpf" "$ctx/root/var/lib/cilium/bpf"
  agent_dockerfile "$version" "$key" >"$ctx/Dockerfile"
  "$DOCKER" build -q -t "$ref" "$ctx" >/dev/null
}

# ------------------------------------------------------------------ etcd

etcd_dockerfile() { # VERSION KEY
  cat <<EOF
FROM scratch
COPY usr/ /usr/
ENV PATH=$STD_PATH
WORKDIR /var/etcd/
WORKDIR /var/lib/etcd/
EXPOSE 2379 2380
CMD ["/usr/local/bin/etcd"]
LABEL $LABEL=$2 org.opencontainers.image.version=$1 org.opencontainers.image.description="cilium-docker stand-in for quay.io/coreos/etcd:$1 (scripts/build-images.sh)"
EOF
}

build_etcd() { # REF KEY
  local ref=$1 key=$2 etcd ctx
  etcd=$("$SCRIPT_DIR/build-etcd.sh" 8>&- | tail -n1)
  if ! { [ -x "$etcd" ] && [ -x "$(dirname "$etcd")/etcdctl" ]; }; then
    die "scripts/build-etcd.sh left no etcd and etcdctl"
  fi
  new_ctx
  ctx=$CTX
  mkdir -p "$ctx/usr/local/bin"
  cp "$etcd" "$(dirname "$etcd")/etcdctl" "$ctx/usr/local/bin/"
  etcd_dockerfile "${ref##*:}" "$key" >"$ctx/Dockerfile"
  "$DOCKER" build -q -t "$ref" "$ctx" >/dev/null
}

etcd_version() { # the version go.mod pins, as scripts/build-etcd.sh reads it
  sed -n 's/^[[:space:]]*go\.etcd\.io\/etcd\/server\/v3 \(v[0-9.]*\)$/\1/p' "$SCRIPT_DIR/../go.mod"
}

# ------------------------------------------------------------------ main

for i in $IMAGES; do
  case "$i" in
    agent)
      for v in "${AGENT_VERSIONS[@]}"; do
        # The key covers the recipe: the Dockerfile names the base by the package list's hash.
        ensure "quay.io/cilium/cilium:v$v" "cilium-v$v-$(agent_dockerfile "$v" - | hash12)" build_agent
      done
      # The base was only a step: untag it (its layer stays, under the agent images).
      if "$DOCKER" image inspect "$BASE_REF" >/dev/null 2>&1; then "$DOCKER" rmi "$BASE_REF" >/dev/null; fi
      ;;
    etcd)
      ev=$(etcd_version)
      [ -n "$ev" ] || die "go.mod pins no go.etcd.io/etcd/server/v3"
      ensure "quay.io/coreos/etcd:$ev" "etcd-$ev-$(etcd_dockerfile "$ev" - | hash12)" build_etcd
      ;;
    plugin)
      t0=$(now)
      ref=$(DOCKER=$DOCKER "$SCRIPT_DIR/image.sh" 8>&- | tail -n1)
      echo "$ref built $(( $(now) - t0 ))s"
      ;;
  esac
done
