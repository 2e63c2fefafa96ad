// Package k8senv starts a real etcd and kube-apiserver (and, on request,
// kube-controller-manager and kube-scheduler) for tests.
//
// Why a real API server and not client-go's fake clientset: the fake has no
// admission, no RBAC, no field validation, no strategic-merge or server-side
// apply semantics and no resourceVersion conflicts, which are exactly what an
// agent that patches its own Node and watches the others trips over. A real
// kube-apiserver on a throwaway etcd costs about 2 s to start.
//
// Where the binaries come from: etcd is Debian's etcd-server (`make deps`);
// the Kubernetes binaries are built once from the Go module proxy by
// e2e/k8s/build.sh (`make k8s-bins`) into ~/.cache/offload-overlay/k8s-v1.34.4
// (override with $K8S_BIN_DIR). When they are missing a test skips with
// "kubernetes binaries not built: run make k8s-bins", unless $CI is set or
// $OO_REQUIRE_K8S=1, where it fails: CI must never pass by skipping.
//
// Every daemon runs with its own random ports and temporary directories, so
// several test binaries can each run their own control plane at the same time.
// Daemons are started from one dedicated OS thread with PR_SET_PDEATHSIG, so a
// test binary that dies (timeout panic, SIGKILL) takes them with it; Stop
// (registered with t.Cleanup) stops the API server before etcd, because an
// API server whose etcd is gone hangs on SIGTERM.
package k8senv
