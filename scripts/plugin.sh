#!/usr/bin/env bash
# Builds the cilium-docker managed (v2) plugin from the local binary (`make build`), offline: a plugin
# directory (plugin/config.json + a rootfs holding only the static binary), a release tarball of it, and
# unless PLUGIN_CREATE=0 `docker plugin create` on whatever dockerd DOCKER_HOST points at (a test-bed
# node's in the tests). The plugin is created disabled; set its mounts and env, then enable it:
#   docker plugin set cilium-docker cilium-run.source=/var/run/cilium docker-sock.source=/var/run/docker.sock
#   docker plugin enable cilium-docker
# Prints the plugin's name on its last line (the tarball's path with PLUGIN_CREATE=0). The tarball is
# cilium-docker-plugin-<version>-linux-<arch>.tar.gz, the architecture (amd64, arm64) read from the binary's
# ELF header; `make release` (scripts/release.sh) builds one per architecture here, with PLUGIN_CREATE=0.
#
# Environment: PLUGIN_BIN binary to package (default <repo>/bin/cilium-docker); PLUGIN_NAME the plugin's
# name, which is its driver name (default cilium-docker:latest; one without a tag gets :latest); a
# name other than the default is also set as CILIUM_DOCKER_DRIVER_NAME. PLUGIN_OUT output directory
# (default <repo>/bin: plugin/ and the tarball); PLUGIN_VERSION the version in the tarball's name (default:
# what the binary reports; set it for a binary this host cannot run, e.g. arm64 on amd64); DOCKER the docker
# CLI (default: docker on PATH); PLUGIN_CREATE=0 builds the directory and tarball only; PLUGIN_TARBALL=0 no
# tarball. An existing plugin of that name is replaced when disabled and refused when enabled (disable it
# first, or `docker plugin upgrade`).
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PLUGIN_BIN=${PLUGIN_BIN:-$REPO_DIR/bin/cilium-docker}
PLUGIN_NAME=${PLUGIN_NAME:-cilium-docker:latest}
PLUGIN_OUT=${PLUGIN_OUT:-$REPO_DIR/bin}
PLUGIN_CREATE=${PLUGIN_CREATE:-1}
PLUGIN_TARBALL=${PLUGIN_TARBALL:-1}
DOCKER=${DOCKER:-docker}
DEFAULT_NAME=cilium-docker:latest   # plugin/config.json's CILIUM_DOCKER_DRIVER_NAME

log() { echo "plugin: $*" >&2; }
die() { log "$*"; exit 1; }

[ -x "$PLUGIN_BIN" ] || die "no binary at $PLUGIN_BIN: run make build"
# The rootfs has no libc: refuse a dynamically linked binary instead of shipping one that cannot start.
if command -v file >/dev/null && file -L "$PLUGIN_BIN" | grep -q 'dynamically linked'; then
  die "$PLUGIN_BIN is dynamically linked; build it with CGO_ENABLED=0 (make build)"
fi
# e_machine, the 16-bit little-endian field at offset 18 of an ELF header: 62 x86-64, 183 AArch64.
[ "$(head -c4 "$PLUGIN_BIN" | od -An -c | tr -d ' ')" = 177ELF ] || die "$PLUGIN_BIN is not an ELF binary"
case $(od -An -tu2 -j18 -N2 "$PLUGIN_BIN" | tr -d ' ') in
  62) arch=amd64 ;;
  183) arch=arm64 ;;
  *) die "$PLUGIN_BIN is neither an amd64 nor an arm64 binary" ;;
esac
last=${PLUGIN_NAME##*/}
[[ "$last" == *:* || "$last" == *@* ]] || PLUGIN_NAME=$PLUGIN_NAME:latest

# "cilium-docker 1.2.3" -> 1.2.3, as scripts/image.sh tags the image.
version=${PLUGIN_VERSION:-$("$PLUGIN_BIN" version | awk '{print $NF}')}
tag=$(printf '%s' "$version" | tr -c 'A-Za-z0-9_.-' '-' | sed 's/^[.-]*//' | cut -c1-128)
[ -n "$tag" ] || tag=dev

# The plugin directory: config.json and rootfs/. Docker bind-mounts /etc/hosts, /etc/resolv.conf (host
# network), /run/docker/plugins (the socket's directory) and the config's mounts over it.
dir=$PLUGIN_OUT/plugin
rm -rf "$dir"
mkdir -p "$dir/rootfs"/{etc,run/docker/plugins,var/run/cilium,tmp,proc,sys,dev}
chmod 1777 "$dir/rootfs/tmp"
: >"$dir/rootfs/etc/hosts"
: >"$dir/rootfs/etc/resolv.conf"
: >"$dir/rootfs/var/run/docker.sock"
cp "$PLUGIN_BIN" "$dir/rootfs/cilium-docker"
cp "$REPO_DIR/plugin/config.json" "$dir/config.json"
tarball=$PLUGIN_OUT/cilium-docker-plugin-$tag-linux-$arch.tar.gz
if [ "$PLUGIN_TARBALL" != 0 ]; then
  tar -C "$dir" --owner=0 --group=0 -czf "$tarball" config.json rootfs
  log "built $dir and $tarball (cilium-docker $version)"
else
  log "built $dir (cilium-docker $version)"
fi
if [ "$PLUGIN_CREATE" = 0 ]; then echo "$tarball"; exit 0; fi

if enabled=$("$DOCKER" plugin inspect -f '{{.Enabled}}' "$PLUGIN_NAME" 2>/dev/null); then
  [ "$enabled" = false ] || die "plugin $PLUGIN_NAME is enabled: docker plugin disable $PLUGIN_NAME first (its networks keep working after it is re-created under the same name)"
  "$DOCKER" plugin rm "$PLUGIN_NAME" >/dev/null
  log "removed the disabled plugin $PLUGIN_NAME"
fi
"$DOCKER" plugin create "$PLUGIN_NAME" "$dir" >/dev/null
if [ "$PLUGIN_NAME" != "$DEFAULT_NAME" ]; then
  "$DOCKER" plugin set "$PLUGIN_NAME" "CILIUM_DOCKER_DRIVER_NAME=$PLUGIN_NAME"
fi
log "created plugin $PLUGIN_NAME (disabled) from cilium-docker $version"
echo "$PLUGIN_NAME"
