package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/offload-overlay/offload-overlay/e2e/topo"
	"github.com/offload-overlay/offload-overlay/internal/testenv/k8senv"
)

// TestConformance runs the upstream Kubernetes e2e suite's sig-network
// conformance specs (e2e.test built from k8s.io/kubernetes v1.34.4) on a
// multi-node cluster with offload-overlay installed from the manifest: the
// lab's variant 5 underlay, where n2-n3 share an L2 segment and n4 sits on a
// VXLAN underlay that routes pod CIDRs (native pairs) and n1 is behind the
// router (VXLAN pairs with n2 and n3), so the specs' pods land across both
// kinds of path. Cluster DNS is CoreDNS (kubeadm's addon); every node runs
// containerd 2.
//
// OO_CONFORMANCE selects the specs: "all" (make conformance: the 45
// `[sig-network] ... [Conformance]` specs), "fast" (make test: FastFocus), or
// a ginkgo focus regexp; unset skips. OO_CONFORMANCE_PROCS (default 3) is
// the number of parallel ginkgo processes. The full run's JUnit report goes
// to e2e/results.
func TestConformance(t *testing.T) {
	focus, label := os.Getenv("OO_CONFORMANCE"), "custom"
	switch focus {
	case "":
		t.Skip("OO_CONFORMANCE unset (make conformance runs the 45 sig-network conformance specs)")
	case "all":
		focus, label = ConformanceFocus, "sig-network"
	case "fast":
		focus, label = FastFocus, "sig-network-fast"
	}
	bins := DefaultConformanceBins()
	if err := bins.Check(); err != nil {
		if k8senv.Required() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	ph := newPhases(t)
	spec, err := topo.VariantSpec(5, false)
	if err != nil {
		t.Fatal(err)
	}
	c := Up(t, Options{Spec: spec, Repo: repoRoot(t), RefCNIDir: refCNIDir(), ClusterDNS: ClusterDNSIP,
		Images: func(testimg string) ([]*Image, error) { return conformanceImages(bins, testimg) }})
	ph.done("cluster up, nodes NotReady")
	install(t, c, ph)
	t.Run("modes", func(t *testing.T) { CheckModes(t, c, labPrediction(c.Topo)) })
	if err := c.RouteHostToPods(); err != nil {
		t.Fatal(err)
	}
	if err := c.DeployCoreDNS(2, 3*time.Minute); err != nil {
		t.Fatal(err)
	}
	ph.done("host routes, CoreDNS ready")

	procs := 3
	if p, err := strconv.Atoi(os.Getenv("OO_CONFORMANCE_PROCS")); err == nil && p > 0 {
		procs = p
	}
	timeout := 75 * time.Minute
	r, err := c.RunConformance(bins, focus, procs, timeout)
	ph.done("e2e.test, " + label + " specs")
	if err != nil {
		t.Fatal(err)
	}
	runtime := "containerd-" + ContainerdVersion
	if !c.opts.Runtime.V2() {
		runtime = "containerd-1.6"
	}
	// The full run's report is kept (make conformance); subsets only say
	// where theirs is (the cluster directory, kept when the test fails).
	kept := r.JUnit
	if label == "sig-network" {
		if kept, err = KeepConformanceReport(r, focus, label, filepath.Join(repoRoot(t), "e2e", "results"), runtime); err != nil {
			t.Error(err)
		}
	}
	fmt.Printf("conformance (%s specs, Kubernetes %s, %s, %d nodes, %d ginkgo processes, %.0fs): %s\nJUnit: %s\n",
		label, k8senv.K8sVersion, runtime, len(c.Nodes), procs, r.Took.Seconds(), r.Summary(), kept)
	for _, f := range r.Failures {
		t.Errorf("FAIL %s", strings.TrimSpace(f))
	}
	if r.Passed == 0 {
		t.Errorf("no spec passed (log %s)", r.Log)
	}
	if r.Failed > 0 || t.Failed() {
		t.Logf("e2e.test log kept: %s", r.Log)
	}
}

// FastFocus is the subset `make test` runs (OO_CONFORMANCE=fast): one spec
// per datapath feature the full set covers (pod-to-pod across nodes over
// HTTP and UDP, node-to-pod, a ClusterIP and a NodePort Service, cluster
// DNS, the API server's proxy to pods); `make conformance` runs all 45.
const FastFocus = `\[sig-network\] (` +
	`Networking Granular Checks: Pods should function for intra-pod communication: (http|udp)|` +
	`Networking Granular Checks: Pods should function for node-pod communication: http|` +
	`Services should serve multiport endpoints from pods|` +
	`Services should be able to create a functioning NodePort service|` +
	`DNS should provide DNS for services|` +
	`Proxy version v1 should proxy through a service and a pod` +
	`).*\[Conformance\]`
