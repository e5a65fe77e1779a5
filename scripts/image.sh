#!/usr/bin/env bash
# Builds the cilium-docker image from the local binary (`make build`), offline: the Dockerfile is
# FROM scratch, so no registry is contacted. Uses whatever dockerd DOCKER_HOST points at (a test-bed
# node's in the tests). Tags cilium-docker:<version> (the version the binary reports) and :latest, and
# prints the versioned reference on its last line.
#
# Environment: PLUGIN_BIN binary to package (default <repo>/bin/cilium-docker); POLICY_BIN the policy
# binary packaged beside it (default cilium-docker-policy beside PLUGIN_BIN); DOCKER the docker CLI
# (default: docker on PATH); IMAGE_NAME (default cilium-docker); IMAGE_PLATFORM the image's platform
# (default the daemon's; linux/arm64 on an amd64 daemon needs no emulation: FROM scratch + COPY runs
# nothing); PLUGIN_VERSION the tag (default: what the binaries report; set it for binaries this host
# cannot run, as `make release` does for arm64).
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PLUGIN_BIN=${PLUGIN_BIN:-$REPO_DIR/bin/cilium-docker}
POLICY_BIN=${POLICY_BIN:-$(dirname "$PLUGIN_BIN")/cilium-docker-policy}
DOCKER=${DOCKER:-docker}
IMAGE_NAME=${IMAGE_NAME:-cilium-docker}

log() { echo "image: $*" >&2; }

for bin in "$PLUGIN_BIN" "$POLICY_BIN"; do
  [ -x "$bin" ] || { log "no binary at $bin: run make build"; exit 1; }
  # The image has no libc: refuse a dynamically linked binary instead of shipping one that cannot start.
  if command -v file >/dev/null && file -L "$bin" | grep -q 'dynamically linked'; then
    log "$bin is dynamically linked; build it with CGO_ENABLED=0 (make build)"
    exit 1
  fi
done

# "cilium-docker 1.2.3" -> 1.2.3; a Docker tag allows [A-Za-z0-9_.-], at most 128, not leading . or -.
if [ -n "${PLUGIN_VERSION:-}" ]; then
  version=$PLUGIN_VERSION
else
  version=$("$PLUGIN_BIN" version | awk '{print $NF}')
  policy_version=$("$POLICY_BIN" version | awk '{print $NF}')
  [ "$policy_version" = "$version" ] ||
    { log "$POLICY_BIN is version $policy_version, $PLUGIN_BIN $version: package binaries of one build"; exit 1; }
fi
tag=$(printf '%s' "$version" | tr -c 'A-Za-z0-9_.-' '-' | sed 's/^[.-]*//' | cut -c1-128)
[ -n "$tag" ] || tag=dev

# A context with only the Dockerfile and the binaries, wherever PLUGIN_BIN lives.
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/bin"
cp "$REPO_DIR/Dockerfile" "$ctx/Dockerfile"
cp "$PLUGIN_BIN" "$ctx/bin/cilium-docker"
cp "$POLICY_BIN" "$ctx/bin/cilium-docker-policy"

log "building $IMAGE_NAME:$tag and $IMAGE_NAME:latest from $PLUGIN_BIN${IMAGE_PLATFORM:+ for $IMAGE_PLATFORM}"
id=$("$DOCKER" build --quiet ${IMAGE_PLATFORM:+--platform "$IMAGE_PLATFORM"} \
  --label "org.opencontainers.image.title=cilium-docker" \
  --label "org.opencontainers.image.version=$version" \
  -t "$IMAGE_NAME:$tag" -t "$IMAGE_NAME:latest" "$ctx")
log "built ${id#sha256:}"
echo "$IMAGE_NAME:$tag"
