# offload-overlay: build, test, bench, demo.
# Every target runs on a fresh Debian 12 machine as root; `make test` installs
# what it needs (e2e/scripts/deps.sh) and caches builds under $(CACHE).
SHELL := /bin/bash
.DEFAULT_GOAL := build

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
CACHE   ?= $(HOME)/.cache/offload-overlay
MODULE  := github.com/offload-overlay/offload-overlay
LDFLAGS := -s -w -X $(MODULE)/pkg/version.Version=$(VERSION)
GOBUILD := CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)'

# Reference CNI plugins (host-local, portmap, bandwidth, ptp, bridge, ...),
# built from the containernetworking/plugins version pinned in go.mod.
CNI_PLUGINS_VERSION := $(shell go list -m -f '{{.Version}}' github.com/containernetworking/plugins 2>/dev/null)
REF_CNI_DIR ?= $(CACHE)/cni-plugins-$(CNI_PLUGINS_VERSION)
export REF_CNI_DIR
REF_CNI_PKGS := $(shell go list -f '{{range .Tool}}{{.}} {{end}}' -m 2>/dev/null; sed -n '/^tool (/,/^)/p' go.mod | grep -v '[()]')

export PATH := /usr/local/go/bin:$(PATH)

.PHONY: all build deps ref-plugins test test-unit fuzz lint bench clean

all: build

build:
	$(GOBUILD) -o bin/offload-overlay ./plugins/main/offload-overlay
	$(GOBUILD) -o bin/offload-overlay-agent ./plugins/main/offload-overlay-agent

# deps installs system packages the tests use (idempotent, quiet when present).
deps:
	bash e2e/scripts/deps.sh

ref-plugins:
	@mkdir -p $(REF_CNI_DIR)
	CGO_ENABLED=0 go build -trimpath -o $(REF_CNI_DIR)/ $(REF_CNI_PKGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...
	@if go list -deps ./plugins/main/offload-overlay | grep -q '^k8s.io/client-go'; then echo "CNI binary must not link client-go"; exit 1; fi

# test-unit: every Go package; privileged tests (real kernel, throwaway netns)
# run when root and skip otherwise.
test-unit: build ref-plugins
	go test -count=1 -timeout 20m ./pkg/... ./plugins/...

fuzz:
	go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 15s ./pkg/config

# test: everything CI runs (.ci/run calls exactly this).
test: deps lint test-unit fuzz

bench: build ref-plugins
	go test -run '^$$' -bench . -benchtime 1x -count 1 -timeout 30m ./e2e/bench/...

clean:
	rm -rf bin
