# The cilium-docker plugin as an image: the static binary of `make build` (CGO_ENABLED=0), nothing else.
# Build it with `make image` (scripts/image.sh), which needs no registry: FROM scratch pulls nothing.
# Run it as compose/node1.yml's cilium-docker service does: host network, NET_ADMIN, and the host's
# /run/docker/plugins, /var/run/cilium and /var/run/docker.sock mounted at the same paths.
FROM scratch
COPY bin/cilium-docker /cilium-docker
ENTRYPOINT ["/cilium-docker"]
