#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks for the test bed, with apt.
# Idempotent: packages already present are skipped. Never starts services in the host namespace.
set -euo pipefail

pkgs=(docker.io containerd runc busybox-static iproute2 iptables
      etcd-client clang-19 llvm-19 jq curl iputils-ping ipset util-linux tini
      systemd procps libseccomp-dev shellcheck dnsmasq-base nftables mmdebstrap)

missing=()
for p in "${pkgs[@]}"; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#pkgs[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
# Keep package scripts from starting docker/containerd/etcd in the host namespace.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; created_policy=1
fi
trap '[ "$created_policy" = 1 ] && rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  systemctl disable --now docker.service docker.socket containerd.service etcd.service 2>/dev/null || true
fi
echo "install-deps: done"
