#!/usr/bin/env bash
# build.sh: Kubernetes binaries for the e2e tests, from the Go module proxy (no git
# checkout, no release tarballs, no registry).
#
# The wrapper module (wrapper.sh) requires k8s.io/kubernetes with every staging module
# replaced by its release. Every cmd is fetched in ONE `go get` (else "missing go.sum entry
# for module providing package"), and built with -X version ldflags (wrapper.sh).
#
# Output: $K8S_BIN_DIR (default ~/.cache/offload-overlay/k8s-v1.34.4/) with kube-apiserver,
# kube-controller-manager, kube-scheduler, kubelet, kube-proxy, kubectl and crictl. Skips when
# everything is already there (lib.sh).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/wrapper.sh"

CRICTL_VERSION=${CRICTL_VERSION:-v1.34.0}
OUT=${K8S_BIN_DIR:-$CACHE/k8s-$KV}
CMDS="kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl"

if cache_complete "$OUT" $CMDS crictl; then
	echo "k8s-bins: $OUT already complete ($KV, crictl $CRICTL_VERSION)"
	exit 0
fi

build_start k8s-bins "$OUT"
mkdir "$tmp/mod"

log "generating wrapper module for k8s.io/kubernetes $KV"
k8s_wrapper_module "$tmp/mod" "$KV"
cd "$tmp/mod"
log "$(grep -c ' => ' go.mod) staging modules replaced with v0.${KV#v1.}"

pkgs=()
for c in $CMDS; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
log "go get ${pkgs[*]/#k8s.io\/kubernetes\/cmd\//}"
go get "${pkgs[@]/%/@$KV}" >/dev/null 2>&1 || go get "${pkgs[@]/%/@$KV}"

LD=$(k8s_version_ldflags "$KV")
export CGO_ENABLED=0 GOFLAGS="-p=${BUILD_P:-2} -buildvcs=false"
for c in $CMDS; do
	s=$(date +%s)
	nice -n 19 go build -trimpath -ldflags="$LD" -o "$tmp/bin/$c" "k8s.io/kubernetes/cmd/$c"
	log "built $c in $(($(date +%s) - s))s"
done

log "building crictl $CRICTL_VERSION"
GOBIN="$tmp/bin" nice -n 19 go install "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"

"$tmp/bin/kubectl" version --client >/dev/null
build_install "$OUT"
