package cluster

import (
	"net/netip"
	"testing"
	"time"

	"github.com/offload-overlay/offload-overlay/e2e/topo"
)

// TestClusterBGP: the lab's variant 3 (n1 and n2 on two subnets behind the
// router, uplinks without tunnel segmentation) plus n3 on a third subnet,
// every pair off-link, and a router that routes no pod CIDR by itself: BIRD
// 2 runs there as the top-of-rack, every node a neighbour. The product is
// installed from the shipped manifest with `kubectl apply -k` of an
// operator's kustomization (the ConfigMap's BGP keys set, a Secret for the
// TCP MD5 password) and each Node labelled with its rack's router. BIRD
// learns every pod CIDR from its node, every pair goes native by rule 2
// ("both pod CIDRs announced over BGP, probe verified") instead of VXLAN
// segmented in software, and pods on different nodes reach each other.
// With --bgp-import on, doctor lists what the agents learnt from the router.
func TestClusterBGP(t *testing.T) {
	ph := newPhases(t)
	spec, err := topo.VariantSpec(3, false)
	if err != nil {
		t.Fatal(err)
	}
	spec.Nodes = append(spec.Nodes, topo.NodeSpec{Name: "n3", Segment: topo.SegC, NoTunnelOffload: true})
	c := Up(t, Options{Spec: spec, Repo: repoRoot(t), RefCNIDir: refCNIDir()})
	ph.done("cluster up, nodes NotReady")

	// The router also announces two networks of its own: one inside the
	// cluster CIDR, one outside it, which the agents (--bgp-import) accept
	// and reject, and doctor lists.
	inside, outside := netip.MustParsePrefix("10.244.200.0/24"), netip.MustParsePrefix("198.51.100.0/24")
	fabric := &BGPFabric{NodeAS: 64512, FabricAS: 65000, Password: "oo-e2e-md5", HoldTime: 9 * time.Second,
		Import: true, Originate: []netip.Prefix{inside, outside}}
	if err := c.StartBGPRouter(fabric); err != nil {
		t.Fatal(err)
	}
	if err := c.LabelRacks(fabric); err != nil {
		t.Fatal(err)
	}
	if err := c.InstallKustomized(fabric.Kustomization, 3*time.Minute); err != nil {
		t.Fatalf("install: %v", err)
	}
	ph.done("BIRD + kubectl apply -k -> all nodes Ready")

	t.Run("router-learnt", func(t *testing.T) { CheckRouterLearnt(t, c, fabric) })
	t.Run("bgp-native", func(t *testing.T) { CheckBGPNative(t, c) })
	t.Run("modes", func(t *testing.T) { CheckModes(t, c, func(a, b *Node) string { return "native" }) })
	t.Run("learnt-listed", func(t *testing.T) { CheckLearntListed(t, c, inside, outside) })
	ph.done("router learnt, pairs native over BGP")

	pods := startWeb(t, c)
	t.Run("pod-to-pod", func(t *testing.T) { CheckPodToPod(t, c, pods) })
	t.Run("service", func(t *testing.T) { CheckService(t, c, pods) })
	ph.done("workloads and connectivity")
}
