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

.PHONY: all build deps ref-plugins test test-unit fuzz fuzz-topo lint bench clean k8s-bins containerd conformance-bins conformance conformance-fast install image e2e-cluster e2e-kind demo e2e

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

# k8s-bins: Kubernetes v1.34.4 binaries + crictl for the API and cluster tests, built once
# from the Go module proxy into $(CACHE)/k8s-v1.34.4 (~10 min cold, skipped when present).
K8S_BIN_DIR ?= $(CACHE)/k8s-v1.34.4
export K8S_BIN_DIR
k8s-bins:
	bash e2e/k8s/build.sh

# containerd: containerd 2 (containerd, ctr, containerd-shim-runc-v2) for the cluster e2e,
# built once from the Go module proxy into $(CACHE)/containerd-$(CONTAINERD_VERSION)
# (e2e/k8s/containerd.sh; runc is Debian's). OO_CONTAINERD=1.6 runs the cluster e2e on
# Debian's containerd 1.6 instead.
CONTAINERD_VERSION ?= v2.4.2
CONTAINERD_DIR     ?= $(CACHE)/containerd-$(CONTAINERD_VERSION)
export CONTAINERD_VERSION CONTAINERD_DIR
containerd:
	bash e2e/k8s/containerd.sh

# conformance-bins: the upstream e2e.test (go test -c k8s.io/kubernetes/test/e2e, in the same
# wrapper module as k8s-bins), agnhost and CoreDNS, built once into $(CONFORMANCE_DIR)
# (e2e/k8s/build-conformance.sh).
CONFORMANCE_DIR ?= $(CACHE)/conformance-v1.34.4
export CONFORMANCE_DIR
conformance-bins:
	bash e2e/k8s/build-conformance.sh

# conformance: the 45 upstream `[sig-network] ... [Conformance]` specs on the multi-node
# cluster (e2e/cluster TestConformance); prints "N passed, N failed, N skipped" and keeps the
# JUnit report in e2e/results/. CONFORMANCE=fast runs the subset `make test` runs.
CONFORMANCE ?= all
conformance-fast:
	$(MAKE) --no-print-directory conformance CONFORMANCE=fast
conformance: deps build ref-plugins k8s-bins containerd conformance-bins
	OO_REQUIRE_K8S=1 OO_CONFORMANCE=$(CONFORMANCE) go test -count=1 -timeout 100m -v -run '^TestConformance$$' ./e2e/cluster/

# install: the CNI plugin and its conflist into DESTDIR-prefixed CNI directories, each
# written under a temporary name and renamed (a running kubelet never sees half a file).
# On a cluster, the DaemonSet does this (conf/kubernetes/offload-overlay.yaml).
DESTDIR      ?=
CNI_BIN_DIR  ?= /opt/cni/bin
CNI_CONF_DIR ?= /etc/cni/net.d
install: build
	install -d $(DESTDIR)$(CNI_BIN_DIR) $(DESTDIR)$(CNI_CONF_DIR)
	install -m 0755 bin/offload-overlay $(DESTDIR)$(CNI_BIN_DIR)/.offload-overlay.tmp
	mv -f $(DESTDIR)$(CNI_BIN_DIR)/.offload-overlay.tmp $(DESTDIR)$(CNI_BIN_DIR)/offload-overlay
	install -m 0644 conf/cni/10-offload-overlay.conflist $(DESTDIR)$(CNI_CONF_DIR)/.10-offload-overlay.conflist.tmp
	mv -f $(DESTDIR)$(CNI_CONF_DIR)/.10-offload-overlay.conflist.tmp $(DESTDIR)$(CNI_CONF_DIR)/10-offload-overlay.conflist

# image: the Dockerfile with docker, podman or buildah, whichever works here. Fails
# (exit 1) with a clear message when none does: an image target that "succeeds" without
# an image would hide a broken release pipeline. The cluster e2e does not need it (it
# packs the same files itself, e2e/cluster).
IMAGE     ?= ghcr.io/offload-overlay/offload-overlay
IMAGE_TAG ?= v0.1.0
image:
	@set -e; \
	if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then eng="docker build"; \
	elif command -v podman >/dev/null 2>&1; then eng="podman build"; \
	elif command -v buildah >/dev/null 2>&1; then eng="buildah bud"; \
	else echo "make image: no container engine: need a running docker daemon, podman or buildah" >&2; \
	  command -v docker >/dev/null 2>&1 && echo "  (the docker CLI is installed but 'docker info' fails: is dockerd running?)" >&2; \
	  exit 1; fi; \
	echo "$$eng -t $(IMAGE):$(IMAGE_TAG) (version $(VERSION))"; \
	$$eng --build-arg VERSION=$(VERSION) -t $(IMAGE):$(IMAGE_TAG) .

# e2e-cluster: a real multi-node Kubernetes (control plane on the host, nodes in
# namespaces with containerd + kubelet + kube-proxy), offload-overlay installed with
# kubectl apply of conf/kubernetes/offload-overlay.yaml, then the checks (e2e/cluster).
e2e-cluster: build ref-plugins k8s-bins containerd
	OO_REQUIRE_K8S=1 go test -count=1 -timeout 15m -v ./internal/testenv/k8senv/ ./e2e/policy/ ./e2e/cluster/

# e2e-kind: the same install on kind (needs docker + kind; prints "skipped" otherwise).
e2e-kind:
	bash e2e/kind/run.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...
	@if go list -deps ./plugins/main/offload-overlay | grep -q '^k8s.io/client-go'; then echo "CNI binary must not link client-go"; exit 1; fi
	@if go list -deps ./plugins/main/offload-overlay | grep -qE '^(github.com/coreos/go-iptables|sigs.k8s.io/knftables|net/http)$$'; then echo "CNI binary must not link iptables/nftables (masquerade is the agent's job) or net/http"; exit 1; fi
	@if go list -deps ./plugins/main/offload-overlay | grep -qE '^(github.com/osrg/gobgp|google.golang.org/grpc)'; then echo "CNI binary must not link gobgp or gRPC (the BGP speaker is the agent's: pkg/bgp)"; exit 1; fi
	@if go list -deps ./plugins/main/offload-overlay | grep -q 'offload-overlay/pkg/bgp$$'; then echo "CNI binary must not import pkg/bgp (only bgpconfig/bgptypes are gobgp-free)"; exit 1; fi
	@if go list -deps ./pkg/bgp/bgpconfig ./pkg/bgp/bgptypes | grep -q '^github.com/osrg/gobgp'; then echo "pkg/bgp/bgpconfig and bgptypes must not link gobgp (doctor and state files read them)"; exit 1; fi
	@if go list -deps ./plugins/main/offload-overlay-agent | grep -E '^k8s.io/(api/|client-go/kubernetes($$|/scheme))' | grep -vx 'k8s.io/api/core/v1'; then echo "agent binary must link only the core/v1 API group (pkg/agent/coreapi), not client-go's clientset or scheme: RSS on every node"; exit 1; fi
	@if go list -deps ./pkg/datapath/... | grep '^k8s.io/'; then echo "pkg/datapath (the kernel side) must not import Kubernetes: the controller (pkg/agent) hands it paths"; exit 1; fi
	@if go list -f '{{join .Imports "\n"}}' ./pkg/agent | grep -E '^(github.com/vishvananda/|github.com/coreos/go-iptables|github.com/offload-overlay/offload-overlay/pkg/(masq|overlay|peers)$$)'; then echo "pkg/agent (the controller) must not program the kernel: go through pkg/datapath's Kernel interface"; exit 1; fi
	@if go list -deps ./pkg/agent/... | grep -E '^(github.com/vishvananda/netlink|github.com/mdlayher/netlink|github.com/coreos/go-iptables|github.com/google/nftables|sigs.k8s.io/knftables)(/|$$)'; then echo "pkg/agent (the controller) must not link netlink, iptables or nftables, not even through a dependency: the binary builds pkg/datapath/linux and pkg/bgp and passes them in; pure facts go in netlink-free packages (offload/offloadtypes, endpoint, overlay/vtep, bgp/bgptypes)"; exit 1; fi

# test-unit: every Go package; privileged tests (real kernel, throwaway netns)
# run when root and skip otherwise.
test-unit: build ref-plugins k8s-bins
	go test -count=1 -timeout 20m ./pkg/... ./plugins/...

fuzz:
	go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 15s ./pkg/config

# test: everything CI runs (.ci/run calls exactly this). Of the upstream conformance specs
# it runs the fast subset (FastFocus in e2e/cluster/conformance_test.go: 7 specs, one per
# datapath feature); all 45 together with their build would take make test past 30 minutes
# on a cold 2-core machine: make conformance runs them.
test: deps lint test-unit fuzz e2e e2e-cluster conformance-fast

bench: build ref-plugins k8s-bins
	go test -run '^$$' -bench . -benchtime 1x -count 1 -timeout 30m ./e2e/bench/...
	go run ./e2e/labbench/cmd/oo-bench -out e2e/results

# demo: the main command (README "Run the demo"): a 4-node lab spanning the underlay
# variants, the real agent and CNI plugin, doctor per node and a pod-to-pod table.
demo: deps build ref-plugins
	@if [ ! -x "$(K8S_BIN_DIR)/kube-apiserver" ]; then \
	  echo "demo: first run: building Kubernetes once into $(K8S_BIN_DIR) (about 10 minutes on 2 cores; cached after that)"; \
	  s=$$(date +%s); $(MAKE) --no-print-directory k8s-bins; \
	  echo "demo: Kubernetes built in $$(( $$(date +%s) - s ))s"; fi
	@go run ./e2e/lab/cmd/oo-demo

# e2e: the lab's end-to-end tests: every underlay variant with the real agent, API
# server and CNI plugin (reachability, modes, PMTU, masquerade, restart, removal, teardown).
e2e: build ref-plugins k8s-bins
	OO_REQUIRE_K8S=1 go test -count=1 -timeout 25m -v ./e2e/perf/ ./e2e/topo/ ./e2e/lab/ ./e2e/topofuzz/

# fuzz-topo: the topology fuzzer on more seeds than `make test` runs (SEEDS=N runs seeds
# 1..N; SEEDS=7,19 or SEEDS=100-120 pick them): generated 3-6 node clusters with the real
# agents, API server and plugin, checked against the oracle (e2e/topofuzz). A failing seed
# prints the command that rebuilds it.
SEEDS ?= 20
fuzz-topo: build ref-plugins k8s-bins
	OO_FUZZ_SEEDS=$(SEEDS) OO_REQUIRE_K8S=1 go test -count=1 -timeout 0 -v -run TestTopologyFuzz ./e2e/topofuzz/

clean:
	rm -rf bin

# bench-datapath: only the node agent's datapath benchmarks (converge 1000
# peers, GRO settings on VXLAN, the cost of the VXLAN filter); part of `bench` too.
.PHONY: bench-datapath
bench-datapath:
	go test -run '^$$' -bench . -benchtime 1x -count 1 -timeout 15m ./e2e/bench/converge ./e2e/bench/gro ./e2e/bench/firewall
