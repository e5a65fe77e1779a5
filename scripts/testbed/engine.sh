# shellcheck shell=bash
# shellcheck disable=SC2034  # engine variables set here are read by node.sh and plugin.sh
# Test bed, engine: dockerd of version $DOCKER_VERSION. 20.10 is Debian's docker.io (/usr/sbin/dockerd,
# its containerd and runc from Debian); any other version comes from the build cache
# (scripts/build-docker.sh) with its own containerd, shim, runc, docker-proxy and docker-init first on
# dockerd's PATH (dockerd starts the containerd it supervises from PATH) and the classic overlay2 image
# store. One CLI for both: Debian's 20.10 `docker` (API 1.41), which newer engines accept.

docker_cli() { # the 20.10 CLI: a newer one negotiates down against 20.10 but rejects some flags client-side
  if [ -x /usr/bin/docker ]; then echo /usr/bin/docker; else command -v docker; fi
}

engine_resolve() { # sets DOCKERD, ENGINE_BIN (dirs first on dockerd's PATH), DAEMON_JSON
  local d
  case "$DOCKER_VERSION" in
    20.10)
      DOCKERD=/usr/sbin/dockerd ENGINE_BIN="" DAEMON_JSON='{}'
      [ -x "$DOCKERD" ] || die "Docker 20.10 is Debian's docker.io: $DOCKERD missing (scripts/install-deps.sh)"
      ;;
    *)
      d=$("$SCRIPT_DIR/build-docker.sh" "$DOCKER_VERSION" 9>&- | tail -n1) || die "build-docker.sh $DOCKER_VERSION failed"
      [ -x "$d/bin/dockerd" ] || die "docker $DOCKER_VERSION cache incomplete in '$d'"
      DOCKERD=$d/bin/dockerd ENGINE_BIN=$d/bin
      # Keep overlay2 (and `docker import` into it) instead of the containerd image store of a fresh
      # Docker >= 29 data root.
      DAEMON_JSON='{"features":{"containerd-snapshotter":false}}'
      ;;
  esac
}

dockerd_ok() {
  [ "$(curl -s --max-time 2 --unix-socket "$NODE_DIR/docker.sock" http://localhost/_ping)" = OK ]
}

engine_version() { # the version the running engine reports
  curl -s --max-time 5 --unix-socket "$NODE_DIR/docker.sock" http://localhost/version | jq -r '.Version // empty'
}

engine_api_version() {
  curl -s --max-time 5 --unix-socket "$NODE_DIR/docker.sock" http://localhost/version | jq -r '.ApiVersion // empty'
}

start_dockerd() {
  local path=$PATH
  [ -z "$ENGINE_BIN" ] || path=$ENGINE_BIN:$PATH
  local hosts=(-H "unix://$NODE_DIR/docker.sock")
  # A stack node's containers mount /var/run/docker.sock: the node's own /run (node.sh cmd__mounts).
  [ "$PLUGIN_MODE" != stack ] || hosts+=(-H unix:///run/docker.sock)
  echo "$DAEMON_JSON" >"$NODE_DIR/daemon.json"
  launch_recorded dockerd env "PATH=$path" "$DOCKERD" "${hosts[@]}" \
    --data-root "$NODE_DIR/docker" --exec-root "$NODE_DIR/exec" --pidfile "$NODE_DIR/docker.pidfile" \
    --cgroup-parent "/$CG_DOCKER" --config-file "$NODE_DIR/daemon.json" --log-level "$DOCKERD_LOG_LEVEL"
}

image_tar() { # builds the busybox rootfs tarball once (testbed.md §3); prints its path
  local dir=$CACHE_ROOT/testimg tar tmp root a
  tar=$dir/cdbusybox-rootfs.tar
  if [ -s "$tar" ]; then echo "$tar"; return; fi
  mkdir -p "$dir"
  tmp=$(mktemp -d "$dir/.build.XXXXXX")
  root=$tmp/rootfs
  mkdir -p "$root"/{bin,etc,proc,sys,dev,tmp,root,run,usr}
  chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  for a in $(/bin/busybox --list); do
    [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"   # linking busybox onto itself destroys it
  done
  ln -s bin "$root/sbin"
  ln -s ../bin "$root/usr/bin"
  ln -s ../bin "$root/usr/sbin"
  echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
  echo 'root:x:0:' >"$root/etc/group"
  tar -C "$root" -cf "$tmp/rootfs.tar" .
  mv "$tmp/rootfs.tar" "$tar"
  rm -rf "$tmp"
  log "built test image rootfs $tar"
  echo "$tar"
}

import_image() {
  local tar t0
  tar=$(image_tar)
  t0=$(now)
  "$(docker_cli)" -H "unix://$NODE_DIR/docker.sock" import -c 'CMD ["/bin/sh"]' "$tar" "$TEST_IMAGE" >/dev/null
  log "imported $TEST_IMAGE in $(elapsed "$t0")s"
}

docker_cleanup() { # containers, then cilium networks (else the next dockerd start waits for the plugin)
  local dk=(timeout 60 "$(docker_cli)" -H "unix://$NODE_DIR/docker.sock") ids nets
  dockerd_ok || return 0
  # PLUGIN_MODE=stack: the stack's containers go last, after the networks.
  local keep=none
  [ "$(node_env PLUGIN_MODE 2>/dev/null)" != stack ] || keep='cilium-docker|cilium-agent|cilium-etcd'
  ids=$("${dk[@]}" ps -a --format '{{.Names}}' 2>/dev/null | grep -vxE "$keep" | tr '\n' ' ') || true
  if [ -n "${ids// /}" ]; then
    # shellcheck disable=SC2086
    "${dk[@]}" rm -f $ids >/dev/null || log "docker rm -f failed"
    log "removed containers: $ids"
  fi
  # The legacy plugin's networks, and those of a managed plugin (any driver dockerd does not bring).
  nets=$("${dk[@]}" network ls --format '{{.ID}} {{.Driver}}' 2>/dev/null |
         awk '$2 !~ /^(bridge|host|null|overlay|macvlan|ipvlan)$/ { printf "%s ", $1 }') || true
  if [ -n "${nets// /}" ]; then
    # shellcheck disable=SC2086
    "${dk[@]}" network rm $nets >/dev/null || log "docker network rm failed"
    log "removed plugin networks: $nets"
  fi
  if [ "$keep" != none ]; then
    ids=$("${dk[@]}" ps -a --format '{{.Names}}' 2>/dev/null | grep -xE "$keep" | tr '\n' ' ') || true
    # shellcheck disable=SC2086
    [ -z "${ids// /}" ] || "${dk[@]}" rm -f $ids >/dev/null || log "docker rm -f $ids failed"
  fi
}
