#!/usr/bin/env bash
# containerd.sh: containerd 2.x for the cluster e2e, built from the Go module proxy (no git
# checkout, no release tarball), once, into $CONTAINERD_DIR (default
# ~/.cache/offload-overlay/containerd-$CONTAINERD_VERSION/): containerd, ctr and
# containerd-shim-runc-v2. runc comes from Debian (e2e/scripts/deps.sh).
#
# Why build it: Debian 12 ships containerd 1.6, whose libcni never calls STATUS or GC and
# rejects a 1.1.0 conflist; containerd 2.x reads `cniVersions`, picks 1.1.0 and asks the
# plugin for STATUS every few seconds (the kubelet's NetworkReady).
#
# CGO_ENABLED=0 with the tags that leave out the snapshotters needing cgo or kernel
# features this machine lacks (btrfs needs cgo, devmapper and zfs their host tools): the
# e2e uses overlayfs. The module has no replace directives, so `go install pkg@version`
# builds exactly the release. Skips when everything is there (lib.sh).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

CV=${CONTAINERD_VERSION:-v2.4.2}
OUT=${CONTAINERD_DIR:-$CACHE/containerd-$CV}
CMDS="containerd ctr containerd-shim-runc-v2"

if cache_complete "$OUT" $CMDS; then
	echo "containerd: $OUT already complete ($CV)"
	exit 0
fi

build_start containerd "$OUT"
M=github.com/containerd/containerd/v2
pkgs=()
for c in $CMDS; do pkgs+=("$M/cmd/$c@$CV"); done
log "building $CV ($CMDS)"
GOBIN="$tmp/bin" CGO_ENABLED=0 GOFLAGS="-p=${BUILD_P:-2} -buildvcs=false" nice -n "${NICE:-10}" go install -trimpath \
	-tags "no_btrfs no_devmapper no_zfs osusergo netgo" \
	-ldflags "-s -w -X $M/version.Version=${CV#v} -X $M/version.Revision=module-proxy" \
	"${pkgs[@]}"
"$tmp/bin/containerd" --version
build_install "$OUT"
