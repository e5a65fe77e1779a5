# The cilium-docker plugin as an image: the two static binaries of `make build` (CGO_ENABLED=0), nothing
# else. /cilium-docker-policy beside /cilium-docker holds the policy commands (`docker exec cilium-docker
# /cilium-docker policy …` runs it) and the parser the policy sync runs for each new document.
# Build it with `make image` (scripts/image.sh), which needs no registry: FROM scratch pulls nothing.
# Run it as compose/node1.yml's cilium-docker service does: host network, NET_ADMIN, and the host's
# /run/docker/plugins, /var/run/cilium and /var/run/docker.sock mounted at the same paths.
FROM scratch
COPY bin/cilium-docker /cilium-docker
COPY bin/cilium-docker-policy /cilium-docker-policy
ENTRYPOINT ["/cilium-docker"]
