#!/usr/bin/env bash
# e2e/kind/run.sh: offload-overlay on kind, installed as an operator does.
#   build the image (make image), create the kind cluster (no default CNI), kind load
#   the image, kubectl apply -f conf/kubernetes/offload-overlay.yaml, wait for nodes
#   Ready, run the cluster e2e's kubectl-only checks between pods on different nodes
#   (go test ./e2e/kind: the same checks e2e/cluster runs), print each node's doctor.
# Env: KIND_CLUSTER (default offload-overlay), DUAL_STACK=1 (dual-stack config),
#      KEEP=1 (leave the cluster running).
# Where Docker or kind is missing it says so and exits 0 with "skipped": this is
# not run in CI here (no Docker engine); e2e/cluster runs the same install there.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH=/usr/local/go/bin:$PATH

if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
	echo "e2e/kind: no running Docker engine: skipped"
	exit 0
fi
if ! command -v kind >/dev/null 2>&1; then
	echo "e2e/kind: kind not installed (go install sigs.k8s.io/kind@latest): skipped"
	exit 0
fi
command -v kubectl >/dev/null 2>&1 || { echo "e2e/kind: kubectl not found" >&2; exit 1; }

NAME=${KIND_CLUSTER:-offload-overlay}
CONFIG=e2e/kind/kind-config.yaml
CIDR="10.244.0.0/16"
if [ "${DUAL_STACK:-0}" = 1 ]; then
	CONFIG=e2e/kind/kind-config-dualstack.yaml
	CIDR="10.244.0.0/16,fd00:10:244::/56"
fi
MANIFEST=conf/kubernetes/offload-overlay.yaml
IMAGE=$(awk '/^ *image:/{print $2; exit}' "$MANIFEST")
KUBECONFIG_FILE=$(mktemp)
WORK=$(mktemp -d)
t0=$(date +%s)
phase() { echo "=== $1: $(($(date +%s) - t0))s"; }

make image IMAGE="${IMAGE%:*}" IMAGE_TAG="${IMAGE##*:}"
phase "image $IMAGE"

if ! kind get clusters 2>/dev/null | grep -qx "$NAME"; then
	kind create cluster --name "$NAME" --config "$CONFIG" --wait 0s
fi
if [ "${KEEP:-0}" != 1 ]; then
	trap 'kind delete cluster --name "$NAME"; rm -rf "$WORK" "$KUBECONFIG_FILE"' EXIT
fi
kind get kubeconfig --name "$NAME" >"$KUBECONFIG_FILE"
export KUBECONFIG=$KUBECONFIG_FILE
phase "kind cluster $NAME (nodes NotReady: no CNI)"

kind load docker-image "$IMAGE" --name "$NAME"
CGO_ENABLED=0 go build -trimpath -o "$WORK/testimg" ./e2e/cluster/cmd/testimg
go run ./e2e/cluster/cmd/ooc-testimage -testimg "$WORK/testimg" -o "$WORK/testimg.tar"
kind load image-archive "$WORK/testimg.tar" --name "$NAME"
phase "images loaded"

# the install: the manifest as shipped, with the cluster CIDR of this kind config
sed "s|OFFLOAD_OVERLAY_CLUSTER_CIDR: .*|OFFLOAD_OVERLAY_CLUSTER_CIDR: \"$CIDR\"|" "$MANIFEST" | kubectl apply -f -
kubectl -n offload-overlay rollout status ds/offload-overlay --timeout=300s
kubectl wait --for=condition=Ready node --all --timeout=300s
phase "kubectl apply -> nodes Ready"

OO_KIND_KUBECONFIG=$KUBECONFIG_FILE go test -count=1 -v -timeout 10m ./e2e/kind/
phase "connectivity checks"

for n in $(kubectl get nodes -o jsonpath='{.items[*].metadata.name}'); do
	p=$(kubectl -n offload-overlay get pods -l app.kubernetes.io/name=offload-overlay --field-selector spec.nodeName="$n" -o jsonpath='{.items[0].metadata.name}')
	echo "--- doctor on $n ($p)"
	kubectl -n offload-overlay exec "$p" -c agent -- /usr/local/bin/offload-overlay-agent doctor || true
done
phase "done"
