# wrapper.sh (sourced by build.sh and build-conformance.sh): the throwaway module that
# lets `go build` reach k8s.io/kubernetes packages from the Go module proxy.
#
# k8s.io/kubernetes cannot be `go install`ed (its go.mod replaces the staging modules with
# ./staging/...), so the wrapper requires it and replaces every staging module with the
# matching v0.X.Y release. Both scripts generate the very same go.mod, so every package
# they have in common (client-go, the apiserver libraries, ...) resolves to the same
# versions and is compiled once, shared through the Go build cache.

# KV is the Kubernetes release both build, one default for the two: the conformance
# e2e.test must test the release the cluster runs.
KV=${K8S_VERSION:-v1.34.4}

# k8s_wrapper_module DIR KV: writes DIR/go.mod for k8s.io/kubernetes KV.
k8s_wrapper_module() {
	local dir=$1 kv=$2 gomod sv
	gomod=$(cd "$dir" && go mod download -json "k8s.io/kubernetes@$kv" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
	[ -f "$gomod" ] || { echo "cannot download k8s.io/kubernetes@$kv go.mod" >&2; return 1; }
	sv=v0.${kv#v1.}
	{
		echo "module k8sbuild"
		echo
		echo "go $(awk '/^go /{print $2; exit}' "$gomod")"
		echo
		echo "require k8s.io/kubernetes $kv"
		echo
		echo "replace ("
		awk -v sv="$sv" '$2 == "=>" && $3 ~ /^\.\/staging\// {print "\t" $1 " => " $1 " " sv}' "$gomod"
		echo ")"
	} >"$dir/go.mod"
}

# k8s_version_ldflags KV: -X flags so the binaries report KV (else v0.0.0-master, which
# `kubectl version` and the e2e framework cannot parse).
k8s_version_ldflags() {
	local kv=$1 min p ld="-s -w"
	min=${kv#v1.}; min=${min%%.*}
	for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ld="$ld -X $p.gitVersion=$kv -X $p.gitMajor=1 -X $p.gitMinor=$min -X $p.gitTreeState=clean -X $p.buildDate=2026-01-01T00:00:00Z"
	done
	echo "$ld"
}
