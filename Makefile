VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
GOFLAGS_BUILD := -trimpath -ldflags "$(LDFLAGS)"

.PHONY: build test test-unit test-privileged test-e2e fuzz bench bench-upstream lint demo image images plugin release clean
build: ; CGO_ENABLED=0 go build $(GOFLAGS_BUILD) -o bin/ ./cmd/cilium-docker ./cmd/cilium-docker-policy ./cmd/testbed ./cmd/bench
test: ; scripts/test.sh
test-unit: ; go test -short -race -count=1 ./...
test-privileged: ; go test -race -count=1 ./endpoint/...
test-e2e: build ; scripts/e2e.sh
fuzz: ; scripts/fuzz.sh
bench: build ; bin/bench
bench-upstream: build ; bin/bench upstream
lint: ; scripts/lint.sh
demo: ; scripts/demo.sh
image: build ; scripts/image.sh
images: build ; scripts/build-images.sh
plugin: build ; scripts/plugin.sh
release: ; VERSION='$(VERSION)' LDFLAGS='$(LDFLAGS)' scripts/release.sh
clean: ; rm -rf bin
