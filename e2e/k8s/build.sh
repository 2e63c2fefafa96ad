#!/usr/bin/env bash
# build.sh: Kubernetes binaries for the e2e tests, from the Go module proxy (no git
# checkout, no release tarballs, no registry).
#
# k8s.io/kubernetes cannot be `go install`ed (its go.mod replaces the staging modules with
# ./staging/...), so a throwaway wrapper module requires it and replaces every staging module
# with the matching v0.X.Y release. Every cmd is fetched in ONE `go get` (else "missing go.sum
# entry for module providing package"), and built with -X version ldflags (else the binaries
# say v0.0.0-master and `kubectl version` cannot parse it).
#
# Output: $K8S_BIN_DIR (default ~/.cache/offload-overlay/k8s-v1.34.4/) with kube-apiserver,
# kube-controller-manager, kube-scheduler, kubelet, kube-proxy, kubectl and crictl. Skips when
# everything is already there; builds into a temp dir and renames it into place, so a killed
# build never leaves a half-filled cache.
set -euo pipefail
export PATH=/usr/local/go/bin:$PATH

KV=${K8S_VERSION:-v1.34.4}
CRICTL_VERSION=${CRICTL_VERSION:-v1.34.0}
CACHE=${CACHE:-$HOME/.cache/offload-overlay}
OUT=${K8S_BIN_DIR:-$CACHE/k8s-$KV}
CMDS="kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl"

complete() {
	local c
	for c in $CMDS crictl; do [ -x "$1/$c" ] || return 1; done
}
if complete "$OUT"; then
	echo "k8s-bins: $OUT already complete ($KV, crictl $CRICTL_VERSION)"
	exit 0
fi

t0=$(date +%s)
log() { echo "k8s-bins: [$(($(date +%s) - t0))s] $*"; }
mkdir -p "$(dirname "$OUT")"
tmp=$(mktemp -d "$(dirname "$OUT")/.k8s-build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/mod" "$tmp/bin"

log "generating wrapper module for k8s.io/kubernetes $KV"
cd "$tmp/mod"
gomod=$(go mod download -json "k8s.io/kubernetes@$KV" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
[ -f "$gomod" ] || { echo "k8s-bins: cannot download k8s.io/kubernetes@$KV go.mod" >&2; exit 1; }
SV=v0.${KV#v1.}
{
	echo "module k8sbuild"
	echo
	echo "go $(awk '/^go /{print $2; exit}' "$gomod")"
	echo
	echo "require k8s.io/kubernetes $KV"
	echo
	echo "replace ("
	awk -v sv="$SV" '$2 == "=>" && $3 ~ /^\.\/staging\// {print "\t" $1 " => " $1 " " sv}' "$gomod"
	echo ")"
} >go.mod
log "$(grep -c ' => ' go.mod) staging modules replaced with $SV"

pkgs=()
for c in $CMDS; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
log "go get ${pkgs[*]/#k8s.io\/kubernetes\/cmd\//}"
go get "${pkgs[@]/%/@$KV}" >/dev/null 2>&1 || go get "${pkgs[@]/%/@$KV}"

MIN=${KV#v1.}; MIN=${MIN%%.*}
LD="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	LD="$LD -X $p.gitVersion=$KV -X $p.gitMajor=1 -X $p.gitMinor=$MIN -X $p.gitTreeState=clean -X $p.buildDate=2026-01-01T00:00:00Z"
done
export CGO_ENABLED=0 GOFLAGS="-p=${BUILD_P:-2} -buildvcs=false"
for c in $CMDS; do
	s=$(date +%s)
	nice -n 19 go build -trimpath -ldflags="$LD" -o "$tmp/bin/$c" "k8s.io/kubernetes/cmd/$c"
	log "built $c in $(($(date +%s) - s))s"
done

log "building crictl $CRICTL_VERSION"
GOBIN="$tmp/bin" nice -n 19 go install "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"

"$tmp/bin/kubectl" version --client >/dev/null
if [ -d "$OUT" ]; then mv "$OUT" "$tmp/old"; fi
mv "$tmp/bin" "$OUT"
log "done: $OUT"
ls -la "$OUT"
