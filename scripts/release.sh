#!/usr/bin/env bash
# Release artifacts in dist/ (`make release`), offline. For linux/amd64 and linux/arm64:
#   cilium-docker-linux-<arch>, cilium-docker-policy-linux-<arch>   static binaries (CGO_ENABLED=0,
#       -trimpath, the Makefile's version ldflags)
#   <binary>.sbom.txt   its SBOM: `go version -m` (Go version, module path, every dependency's version and
#       go.sum hash, the build settings)
#   cilium-docker-plugin-<version>-linux-<arch>.tar.gz   the managed plugin (config.json + rootfs), by
#       scripts/plugin.sh with PLUGIN_CREATE=0
#   cilium-docker-image-<version>-linux-<arch>.tar   `docker save` of cilium-docker:<version> and :latest,
#       built by scripts/image.sh (FROM scratch + COPY: arm64 needs no emulation)
# and SHA256SUMS over all of them (`sha256sum -c SHA256SUMS` in dist/ checks them).
#
# The image needs a dockerd: DOCKER_HOST's, else the docker CLI's default. The build leaves the daemon's
# cilium-docker:<version> and :latest on its own architecture's image, as `make image` does.
# Environment: VERSION and LDFLAGS (set by the Makefile); DIST output directory (default <repo>/dist, emptied
# first); ARCHES (default "amd64 arm64"); DOCKER the docker CLI (default: docker on PATH).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$SCRIPT_DIR")
: "${VERSION:?set by make release}" "${LDFLAGS:?set by make release}"
DIST=${DIST:-$REPO_DIR/dist}
read -r -a ARCHES <<<"${ARCHES:-amd64 arm64}"
DOCKER=${DOCKER:-docker}
BINARIES=(cilium-docker cilium-docker-policy)

log() { echo "release: $*" >&2; }
die() { log "$*"; exit 1; }

native=$("$DOCKER" version --format '{{.Server.Arch}}' 2>/dev/null) ||
  die "no docker daemon answers at ${DOCKER_HOST:-the default socket}: the image needs one (docker save);" \
    "set DOCKER_HOST to a dockerd socket (a test-bed node: unix:///tmp/cdtb/n1/docker.sock) or start dockerd"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -rf "$DIST"
mkdir -p "$DIST"
cd "$REPO_DIR"

for arch in "${ARCHES[@]}"; do
  for bin in "${BINARIES[@]}"; do
    log "go build $bin for linux/$arch"
    CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath -ldflags "$LDFLAGS" -o "$DIST/$bin-linux-$arch" "./cmd/$bin"
    (cd "$DIST" && go version -m "$bin-linux-$arch") >"$DIST/$bin-linux-$arch.sbom.txt"
  done
  # plugin.sh names the tarball after the binary's architecture; it cannot run an arm64 binary for its version.
  tarball=$(PLUGIN_BIN=$DIST/cilium-docker-linux-$arch PLUGIN_VERSION=$VERSION PLUGIN_CREATE=0 \
    PLUGIN_OUT=$tmp/plugin-$arch "$SCRIPT_DIR/plugin.sh" | tail -n1)
  mv "$tarball" "$DIST/"
done

# image ARCH: scripts/image.sh from that architecture's binaries, saved with both tags.
image() {
  local arch=$1 ref
  mkdir -p "$tmp/image-$arch"
  cp "$DIST/cilium-docker-linux-$arch" "$tmp/image-$arch/cilium-docker"
  cp "$DIST/cilium-docker-policy-linux-$arch" "$tmp/image-$arch/cilium-docker-policy"
  ref=$(PLUGIN_BIN=$tmp/image-$arch/cilium-docker PLUGIN_VERSION=$VERSION IMAGE_PLATFORM=linux/$arch \
    DOCKER=$DOCKER "$SCRIPT_DIR/image.sh" | tail -n1)
  log "docker save $ref for linux/$arch"
  "$DOCKER" save -o "$DIST/cilium-docker-image-${ref##*:}-linux-$arch.tar" "$ref" "${ref%:*}:latest"
  chmod 0644 "$DIST/cilium-docker-image-${ref##*:}-linux-$arch.tar"   # the CLI writes 0600
}
# The daemon's own architecture last, so its tags end on the image it can run.
for arch in "${ARCHES[@]}"; do [ "$arch" = "$native" ] || image "$arch"; done
for arch in "${ARCHES[@]}"; do [ "$arch" != "$native" ] || image "$arch"; done

(cd "$DIST" && files=(*) && sha256sum -- "${files[@]}" >SHA256SUMS)
log "wrote $DIST: $(cd "$DIST" && echo *)"
