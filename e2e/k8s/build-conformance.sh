#!/usr/bin/env bash
# build-conformance.sh: what the upstream conformance run needs besides the cluster's own
# binaries, built from the Go module proxy once and cached by version:
#
#   $CONFORMANCE_DIR (default ~/.cache/offload-overlay/conformance-v1.34.4/)
#     e2e.test   `go test -c k8s.io/kubernetes/test/e2e`, in the same wrapper module as the
#                Kubernetes binaries (wrapper.sh), so the packages they share come from the
#                Go build cache
#     ginkgo     the ginkgo CLI at the version k8s.io/kubernetes requires (runs e2e.test in
#                parallel processes)
#     agnhost    k8s.io/kubernetes/test/images/agnhost, the e2e framework's Swiss army knife
#     coredns    github.com/coredns/coredns at the version kubeadm pins for this Kubernetes,
#                with only the plugins kubeadm's Corefile uses (a custom main, as CoreDNS
#                documents for external plugins: the full plugin set would pull in three
#                cloud SDKs)
#
# Skips when everything is there (lib.sh).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/wrapper.sh"

COREDNS_VERSION=${COREDNS_VERSION:-v1.12.1}
OUT=${CONFORMANCE_DIR:-$CACHE/conformance-$KV}

if cache_complete "$OUT" e2e.test ginkgo agnhost coredns &&
	[ "$(cat "$OUT/coredns.version" 2>/dev/null)" = "$COREDNS_VERSION" ]; then
	echo "conformance-bins: $OUT already complete ($KV, CoreDNS $COREDNS_VERSION)"
	exit 0
fi

build_start conformance-bins "$OUT"
mkdir "$tmp/mod" "$tmp/coredns"
export CGO_ENABLED=0 GOFLAGS="-p=${BUILD_P:-2} -buildvcs=false"
NICE=${NICE:-10}

k8s_wrapper_module "$tmp/mod" "$KV"
LD=$(k8s_version_ldflags "$KV")
(
	cd "$tmp/mod"
	log "go get -t k8s.io/kubernetes/test/e2e test/images/agnhost @$KV"
	go get -t "k8s.io/kubernetes/test/e2e@$KV" "k8s.io/kubernetes/test/images/agnhost@$KV" >/dev/null 2>&1 ||
		go get -t "k8s.io/kubernetes/test/e2e@$KV" "k8s.io/kubernetes/test/images/agnhost@$KV"
	gv=$(go list -m -f '{{.Version}}' github.com/onsi/ginkgo/v2)
	s=$(date +%s)
	GOBIN="$tmp/bin" nice -n "$NICE" go install -trimpath "github.com/onsi/ginkgo/v2/ginkgo@$gv"
	log "built ginkgo $gv in $(($(date +%s) - s))s"
	s=$(date +%s)
	nice -n "$NICE" go build -trimpath -ldflags="$LD" -o "$tmp/bin/agnhost" k8s.io/kubernetes/test/images/agnhost
	log "built agnhost in $(($(date +%s) - s))s"
	s=$(date +%s)
	nice -n "$NICE" go test -c -trimpath -ldflags="$LD" -o "$tmp/bin/e2e.test" k8s.io/kubernetes/test/e2e
	log "built e2e.test in $(($(date +%s) - s))s"
)

(
	cd "$tmp/coredns"
	cat >go.mod <<-MOD
		module corednsbuild

		go 1.23.0

		require github.com/coredns/coredns $COREDNS_VERSION
	MOD
	cat >main.go <<-'MAIN'
		// CoreDNS with the plugins of kubeadm's Corefile (and log), for the e2e's cluster DNS.
		package main

		import (
			"github.com/coredns/coredns/coremain"

			_ "github.com/coredns/coredns/plugin/cache"
			_ "github.com/coredns/coredns/plugin/errors"
			_ "github.com/coredns/coredns/plugin/forward"
			_ "github.com/coredns/coredns/plugin/health"
			_ "github.com/coredns/coredns/plugin/kubernetes"
			_ "github.com/coredns/coredns/plugin/loadbalance"
			_ "github.com/coredns/coredns/plugin/log"
			_ "github.com/coredns/coredns/plugin/loop"
			_ "github.com/coredns/coredns/plugin/metrics"
			_ "github.com/coredns/coredns/plugin/ready"
			_ "github.com/coredns/coredns/plugin/reload"
		)

		func main() { coremain.Run() }
	MAIN
	log "go mod tidy (CoreDNS $COREDNS_VERSION)"
	go mod tidy >/dev/null 2>&1 || go mod tidy
	s=$(date +%s)
	nice -n "$NICE" go build -trimpath -ldflags="-s -w -X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION" -o "$tmp/bin/coredns" .
	log "built coredns in $(($(date +%s) - s))s"
	echo "$COREDNS_VERSION" >"$tmp/bin/coredns.version"
)

plugins=$("$tmp/bin/coredns" -plugins)
case "$plugins" in *kubernetes*) ;; *) echo "coredns lacks the kubernetes plugin: $plugins" >&2; exit 1 ;; esac
build_install "$OUT"
