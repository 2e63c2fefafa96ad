# lib.sh (sourced by build.sh, build-conformance.sh and containerd.sh): the cache discipline
# the three builds share. Each fills one versioned directory under $CACHE from the Go module
# proxy, once: it skips when the directory is complete, and otherwise builds into $tmp/bin,
# a temporary directory next to it, which it renames into place only when everything is
# built, so a killed build never leaves a half-filled cache (the next run starts over).

export PATH=/usr/local/go/bin:$PATH
CACHE=${CACHE:-$HOME/.cache/offload-overlay}

# cache_complete DIR FILE...: whether every FILE is an executable in DIR.
cache_complete() {
	local dir=$1 f
	shift
	for f; do [ -x "$dir/$f" ] || return 1; done
}

# build_start NAME OUT: starts the clock that log reports, names the build in its messages
# and makes $tmp (removed on exit) next to OUT, with an empty $tmp/bin.
build_start() {
	build_name=$1
	build_t0=$(date +%s)
	mkdir -p "$(dirname "$2")"
	tmp=$(mktemp -d "$(dirname "$2")/.$1-build.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	mkdir "$tmp/bin"
}

# log MSG...: MSG after the build's name and the seconds since build_start.
log() { echo "$build_name: [$(($(date +%s) - build_t0))s] $*"; }

# build_install OUT: $tmp/bin, complete, replaces OUT (an incomplete earlier copy).
build_install() {
	rm -rf "$1"
	mv "$tmp/bin" "$1"
	log "done: $1"
	ls -la "$1"
}
