package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offload-overlay/offload-overlay/e2e/topo"
)

func repoRoot(t testing.TB) string {
	d, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func refCNIDir() string {
	if d := os.Getenv("REF_CNI_DIR"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "offload-overlay", "cni-plugins-v1.9.1")
}

// phases prints how long each phase of the e2e took.
type phases struct {
	t           testing.TB
	start, last time.Time
}

func newPhases(t testing.TB) *phases {
	now := time.Now()
	return &phases{t: t, start: now, last: now}
}

func (p *phases) done(name string) {
	now := time.Now()
	p.t.Logf("=== phase %-34s %6.1fs (total %6.1fs)", name, now.Sub(p.last).Seconds(), now.Sub(p.start).Seconds())
	p.last = now
}

// labPrediction is the datapath the lab measured as best for a pair of
// nodes, from the underlay alone: same L2 segment (also the tunnel
// underlay's) -> native; a tunnel underlay on one end -> native when the
// router carries pod CIDRs for it, else unreachable (never two tunnel
// levels); different plain segments -> native when the router carries every
// pod CIDR, else one VXLAN level.
func labPrediction(tp *topo.Topology) func(a, b *Node) string {
	routes := func(seg string) bool {
		for _, s := range tp.Spec.PodRouteSegments {
			if s == "*" || s == seg {
				return true
			}
		}
		return false
	}
	return func(a, b *Node) string {
		sa := tp.NodeByName(strings.TrimPrefix(a.Name, Prefix)).Segment
		sb := tp.NodeByName(strings.TrimPrefix(b.Name, Prefix)).Segment
		switch {
		case sa == sb:
			return "native"
		case sa == topo.SegX || sb == topo.SegX:
			if routes(topo.SegX) {
				return "native"
			}
			return "unreachable"
		case routes(sa) && routes(sb):
			return "native"
		}
		return "vxlan"
	}
}

// TestCluster is the multi-node Kubernetes e2e: a mixed cluster covering the
// lab's underlays at once (the lab's variant 5: n2-n3 on one L2 segment, n1
// behind the router, n3 without tunnel segmentation, n4 on a VXLAN underlay
// that routes pod CIDRs) plus n5, added later on n1's segment.
func TestCluster(t *testing.T) {
	ph := newPhases(t)
	spec, err := topo.VariantSpec(5, false)
	if err != nil {
		t.Fatal(err)
	}
	spec.Nodes = append(spec.Nodes, topo.NodeSpec{Name: "n5", Segment: topo.SegA})
	c := Up(t, Options{Spec: spec, Repo: repoRoot(t), RefCNIDir: refCNIDir(), Deferred: []string{"n5"}})
	ph.done("cluster up, nodes NotReady")

	before := map[string]string{}
	for _, n := range c.Nodes {
		s, err := n.NetSnapshot()
		if err != nil {
			t.Fatal(err)
		}
		before[n.Name] = s
	}
	install(t, c, ph)
	t.Run("network-available", func(t *testing.T) { CheckNodesNetworkAvailable(t, c) })
	t.Run("agent-rbac", func(t *testing.T) { CheckAgentRBAC(t, c) })
	t.Run("annotations", func(t *testing.T) { CheckAnnotations(t, c) })
	t.Run("modes", func(t *testing.T) { CheckModes(t, c, labPrediction(c.Topo)) })
	ph.done("modes per peer")

	pods := startWeb(t, c)
	ph.done("workloads ready")
	t.Run("pod-to-pod", func(t *testing.T) { CheckPodToPod(t, c, pods) })
	t.Run("service", func(t *testing.T) { CheckService(t, c, pods) })
	t.Run("apiserver", func(t *testing.T) { CheckAPIServer(t, c, pods) })
	checkMasqueradeOutside(t, c, pods)
	t.Run("hostport", func(t *testing.T) { CheckHostPort(t, c, c.Nodes[len(c.Nodes)-1], c.Nodes[0]) })
	ph.done("connectivity checks")
	t.Run("libcni-check-status-gc", func(t *testing.T) { CheckLibCNI(t, c, c.Nodes[0]) })
	ph.done("libcni CHECK/STATUS/GC")
	t.Run("status-gates-pods", func(t *testing.T) { CheckStatusGatesPods(t, c, c.Nodes[len(c.Nodes)-1]) })
	ph.done("containerd STATUS: agent gone -> NotReady -> Ready")

	t.Run("restarts-keep-connections", func(t *testing.T) { checkRestarts(t, c, pods) })
	ph.done("containerd + DaemonSet restarts")
	t.Run("node-remove-add", func(t *testing.T) { checkNodeRemoveAdd(t, c) })
	ph.done("node removed and added")

	t.Run("pods-deleted-leave-nothing", func(t *testing.T) {
		for _, args := range [][]string{{"delete", "deploy", "web", "--wait=true"}, {"delete", "pods", "--all", "--wait=true", "--grace-period=1"}} {
			s := time.Now()
			if _, err := c.Kubectl(args...); err != nil {
				t.Fatal(err)
			}
			t.Logf("kubectl %s: %.1fs", strings.Join(args, " "), time.Since(s).Seconds())
		}
		for _, n := range c.Nodes {
			s := time.Now()
			var left []string
			err := waitFor(20*time.Second, func() error {
				var err error
				left, err = n.Leftovers()
				if err == nil && len(left) > 0 {
					err = errLeft
				}
				return err
			})
			if err != nil {
				t.Errorf("%s after deleting every pod: %v %v", n.Name, err, left)
			} else {
				t.Logf("%s: no veth, pod route or IPAM allocation left (%.1fs)", n.Name, time.Since(s).Seconds())
			}
		}
	})
	ph.done("pods deleted")

	t.Run("uninstall-restores-nodes", func(t *testing.T) { checkUninstall(t, c, before) })
	ph.done("kubectl delete -f + cleanup")
}

// TestClusterRoutedUnderlay: the lab's variant 3 (two subnets behind the
// router, uplinks without tunnel segmentation) where the router routes every
// pod CIDR: the agents' native probe succeeds both ways and the pair goes
// native (decision rule 2) instead of VXLAN segmented in software.
func TestClusterRoutedUnderlay(t *testing.T) {
	ph := newPhases(t)
	spec, err := topo.VariantSpec(3, true)
	if err != nil {
		t.Fatal(err)
	}
	c := Up(t, Options{Spec: spec, Repo: repoRoot(t), RefCNIDir: refCNIDir()})
	ph.done("cluster up, nodes NotReady")
	install(t, c, ph)
	t.Run("modes", func(t *testing.T) { CheckModes(t, c, labPrediction(c.Topo)) })
	t.Run("native-probe-published", func(t *testing.T) { CheckNativeProbesPublished(t, c) })
	pods := startWeb(t, c)
	t.Run("pod-to-pod", func(t *testing.T) { CheckPodToPod(t, c, pods) })
	t.Run("service", func(t *testing.T) { CheckService(t, c, pods) })
	t.Run("apiserver", func(t *testing.T) { CheckAPIServer(t, c, pods) })
	checkMasqueradeOutside(t, c, pods)
	ph.done("modes and connectivity")
}

// TestClusterDualStack: every node and pod has an IPv4 and an IPv6 address;
// the lab's variant 2 (two subnets behind the router, so VXLAN in each
// family) plus a second node on the first subnet (native in each family).
func TestClusterDualStack(t *testing.T) {
	ph := newPhases(t)
	spec, err := topo.VariantSpec(2, false)
	if err != nil {
		t.Fatal(err)
	}
	spec.Nodes = append(spec.Nodes, topo.NodeSpec{Name: "n3", Segment: topo.SegA})
	c := Up(t, Options{Spec: spec, Repo: repoRoot(t), RefCNIDir: refCNIDir(), DualStack: true})
	ph.done("cluster up, nodes NotReady")
	install(t, c, ph)
	t.Run("modes", func(t *testing.T) { CheckModes(t, c, labPrediction(c.Topo)) })
	pods := startWeb(t, c)
	for _, p := range pods {
		if len(p.IPs) != 2 {
			t.Errorf("pod %s on %s: addresses %v, want one per family", p.Name, p.Node, p.IPs)
		}
	}
	t.Run("pod-to-pod", func(t *testing.T) { CheckPodToPod(t, c, pods) })
	t.Run("service", func(t *testing.T) { CheckService(t, c, pods) })
	checkMasqueradeOutside(t, c, pods)
	ph.done("modes and connectivity, both families")
}

// TestClusterNestingRefused: a node whose uplink is a VXLAN underlay that
// does not carry pod CIDRs, and a node on a plain segment. The only way
// between their pods would be VXLAN inside VXLAN (0.20x native in the lab):
// the agents refuse it, install no route, and say so with a PeerUnreachable
// Event on their Node.
func TestClusterNestingRefused(t *testing.T) {
	ph := newPhases(t)
	spec := topo.Spec{Nodes: []topo.NodeSpec{{Name: "n1", Segment: topo.SegA}, {Name: "n2", Segment: topo.SegX}}}
	c := Up(t, Options{Spec: spec, Repo: repoRoot(t), RefCNIDir: refCNIDir()})
	ph.done("cluster up, nodes NotReady")
	install(t, c, ph)
	t.Run("modes", func(t *testing.T) { CheckModes(t, c, labPrediction(c.Topo)) })
	t.Run("events", func(t *testing.T) {
		for _, n := range c.Nodes {
			var out string
			err := waitFor(30*time.Second, func() error {
				var err error
				out, err = c.Kubectl("get", "events", "-A", "--field-selector", "reason=PeerUnreachable,involvedObject.name="+n.Name,
					"-o", "jsonpath={range .items[*]}{.message}{\"\\n\"}{end}")
				if err == nil && strings.TrimSpace(out) == "" {
					err = errLeft
				}
				return err
			})
			if err != nil {
				t.Errorf("%s: no PeerUnreachable Event: %v", n.Name, err)
				continue
			}
			t.Logf("%s: PeerUnreachable: %s", n.Name, strings.TrimSpace(strings.Split(out, "\n")[0]))
		}
	})
	ph.done("nesting refused")
}

// install applies the manifest as an operator would and waits until every
// node is Ready with NetworkUnavailable=False.
func install(t *testing.T, c *Cluster, ph *phases) {
	t.Helper()
	if err := c.Install(3 * time.Minute); err != nil {
		t.Fatalf("install: %v", err)
	}
	ph.done("kubectl apply -> all nodes Ready")
}

// startWeb runs the test web workload (one pod per node) and returns its pods.
func startWeb(t *testing.T, c *Cluster) []Pod {
	t.Helper()
	if err := c.Apply(WebManifest(len(c.Nodes))); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitPodsReady("app=web", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	pods, err := c.Pods("app=web")
	if err != nil {
		t.Fatal(err)
	}
	return pods
}

// checkMasqueradeOutside starts the outside server and checks that pods
// reach it from their node's address.
func checkMasqueradeOutside(t *testing.T, c *Cluster, pods []Pod) {
	t.Helper()
	if _, err := c.StartOutsideServer(); err != nil {
		t.Fatal(err)
	}
	t.Run("masquerade", func(t *testing.T) { CheckMasquerade(t, c, pods, c.OutsideIPs()...) })
}
