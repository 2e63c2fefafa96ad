package lab

import (
	"context"
	"fmt"
	"net"
	"slices"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/offload-overlay/offload-overlay/e2e/topo"
	"github.com/offload-overlay/offload-overlay/internal/testenv/k8senv"
	"github.com/offload-overlay/offload-overlay/pkg/offload"
)

// upAgentLabConfig is upAgentLabSpec with a whole lab Config (cluster CIDRs).
func upAgentLabConfig(t *testing.T, cfg Config) *Lab {
	t.Helper()
	requireRoot(t)
	k8senv.RequireBinaries(t, "kube-apiserver")
	cfg.Spec.Prefix, cfg.Spec.Site = e2ePrefix, e2eSite
	cfg.Progress = t.Logf
	TB = t
	t.Cleanup(func() { TB = nil })
	l, err := Up(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Down(); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})
	return l
}

// TestE2EIPv6Only: an IPv6-only cluster (no IPv4 on any uplink, IPv6
// InternalIPs, pod CIDRs and cluster CIDR): same L2 is native, across the
// router one VXLAN level with IPv6 outer headers (70 bytes: pod MTU 1430 on
// a 1500 uplink); pods reach each other, a DF ping fills the pod MTU, doctor
// agrees, pods reach the internet masqueraded as their node's IPv6.
func TestE2EIPv6Only(t *testing.T) {
	three := topo.Spec{Internet: true, Nodes: []topo.NodeSpec{
		{Name: "n1", Segment: topo.SegA}, {Name: "n2", Segment: topo.SegA}, {Name: "n3", Segment: topo.SegB}}}
	v5, _ := topo.VariantSpec(5, false)
	v3, _ := topo.VariantSpec(3, true)
	for _, tc := range []struct {
		name      string
		spec      topo.Spec
		variant   int
		podRoutes bool
	}{{"mixed", three, 0, false}, {"variant5", v5, 5, false}, {"variant3-podroutes", v3, 3, true}} {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.IPv6Only = true
			l := upAgentLabConfig(t, Config{Spec: tc.spec, ClusterCIDRs: []string{"fd44::/48"}})
			for _, p := range l.Pods {
				if p.IPv4 != "" || p.IPv6 == "" {
					t.Fatalf("pod %s: addresses %q %q, want IPv6 only", p.Name, p.IPv4, p.IPv6)
				}
			}
			checkModes(t, l, tc.variant, tc.podRoutes, false)
			checkVXLANPodMTU(t, l, tc.variant, tc.podRoutes, 1500-70)
			checkReachability(t, l)
			checkPMTU(t, l)
			checkMasquerade(t, l)
		})
	}
}

// checkVXLANPodMTU: on every node with a VXLAN peer, the pods' MTU is want.
func checkVXLANPodMTU(t *testing.T, l *Lab, variant int, podRoutes bool, want int) {
	t.Helper()
	for _, a := range l.Nodes {
		for _, b := range l.Nodes {
			if a == b || expectedMode(variant, podRoutes, false, a, b) != "vxlan" {
				continue
			}
			mtu, err := PodMTU(l.PodsOn(a.Name)[0])
			if err != nil {
				t.Fatal(err)
			}
			if mtu != want {
				t.Errorf("%s: pod MTU %d with a VXLAN peer (%s), want %d", a.Name, mtu, b.Name, want)
			}
			if local, err := vxlanLocal(l, a, b); err != nil || local.To4() != nil {
				t.Errorf("%s -> %s: VXLAN local address %v (%v), want IPv6 outer headers", a.Name, b.Name, local, err)
			}
			break
		}
	}
}

// TestE2EBridgeUplink: the node IPs sit on a Linux bridge (br0) whose veth
// port has no tunnel segmentation. The agent sees through the bridge: doctor
// lists br0 and its port, the on-link peer is native and the off-link peer
// VXLAN segmented in software; a capable bridge uplink stays capable.
func TestE2EBridgeUplink(t *testing.T) {
	mixed := topo.Spec{Internet: true, Nodes: []topo.NodeSpec{
		{Name: "n1", Segment: topo.SegA, BridgeUplink: true, NoTunnelOffload: true},
		{Name: "n2", Segment: topo.SegA, BridgeUplink: true},
		{Name: "n3", Segment: topo.SegB}}}
	guest := mixed
	guest.Nodes = slices.Clone(mixed.Nodes)
	guest.Nodes[1].GuestPort = true
	mixed6 := mixed
	mixed6.IPv6Only = true
	mixed6.Nodes = slices.Clone(mixed.Nodes)
	v3, _ := topo.VariantSpec(3, false)
	v5, _ := topo.VariantSpec(5, false)
	for _, s := range []topo.Spec{v3, v5} {
		for i := range s.Nodes {
			s.Nodes[i].BridgeUplink = true
		}
	}
	type path struct {
		from, to string
		capable  bool
	}
	mixedPaths := []path{{"n1", "n3", false}, {"n2", "n3", true}}
	for _, tc := range []struct {
		name    string
		spec    topo.Spec
		variant int
		cidrs   []string
		paths   []path
	}{
		{"mixed", mixed, 0, nil, mixedPaths},
		// n2's bridge also has a guest's port without tunnel segmentation
		{"guest-port", guest, 0, nil, mixedPaths},
		{"mixed-ipv6only", mixed6, 0, []string{"fd44::/48"}, mixedPaths},
		{"variant3", v3, 3, nil, []path{{"n1", "n2", false}, {"n2", "n1", false}}},
		// n4's bridge has the underlay's VXLAN device as its port
		{"variant5", v5, 5, nil, []path{{"n1", "n2", true}, {"n3", "n1", false}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := upAgentLabConfig(t, Config{Spec: tc.spec, ClusterCIDRs: tc.cidrs})
			checkModes(t, l, tc.variant, false, false)
			for _, c := range tc.paths {
				checkBridgePath(t, l, l.NodeByName(c.from), l.NodeByName(c.to), c.capable)
			}
			checkUnderlayTunnel(t, l, tc.variant)
			checkReachability(t, l)
			checkPMTU(t, l)
			checkMasquerade(t, l)
		})
	}
}

// checkBridgePath: doctor on a for its VXLAN peer b lists a's bridge uplink
// and its port, and says whether VXLAN super-packets leave whole (capable)
// or are segmented in software.
func checkBridgePath(t *testing.T, l *Lab, a, b *Node, capable bool) {
	t.Helper()
	r, err := doctorAgrees(context.Background(), l, a, b, "vxlan")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range r.Path {
		names = append(names, d.Name)
	}
	if a.Uplink == "br0" && (!slices.Contains(names, "br0") || !slices.Contains(names, "eth0")) {
		t.Errorf("%s -> %s: doctor path %v, want br0 and its port eth0", a.Name, b.Name, names)
	}
	// the agent's own choice (rule 4 whole, rule 5 software) is the same
	wantRule := 5
	if capable {
		wantRule = 4
	}
	if r.Decision.Agent == nil || r.Decision.Agent.Rule != wantRule || r.Decision.Rule != wantRule {
		t.Errorf("%s -> %s: agent recorded %+v, doctor rule %d, want rule %d: %v", a.Name, b.Name, r.Decision.Agent, r.Decision.Rule, wantRule, r.Decision.Reasons)
	}
	seg := r.Segmentation[offload.TrafficVXLAN]
	soft := seg.Where == offload.WhereSoftware
	if r.Verdict.TunnelSegmentation != capable || soft == capable {
		t.Errorf("%s -> %s: tunnel segmentation %v, VXLAN cut at %+v; want capable=%v (blocker %q)",
			a.Name, b.Name, r.Verdict.TunnelSegmentation, seg, capable, r.Verdict.Blocker)
	}
}

// checkUnderlayTunnel: doctor on a node of the tunnel underlay (segment x)
// finds the underlay's VXLAN device below the uplink, through a bridge too.
func checkUnderlayTunnel(t *testing.T, l *Lab, variant int) {
	t.Helper()
	for _, a := range l.Nodes {
		if a.Segment != topo.SegX {
			continue
		}
		b := l.Nodes[0]
		if b == a {
			b = l.Nodes[1]
		}
		r, err := doctorAgrees(context.Background(), l, a, b, expectedMode(variant, false, false, a, b))
		if err != nil {
			t.Fatal(err)
		}
		if r.Verdict.UnderlayTunnel != "vxlan" || r.Verdict.UnderlayTunnelDevice != "vxul" {
			t.Errorf("%s: doctor finds underlay tunnel %q on %q below %s, want vxlan on vxul", a.Name,
				r.Verdict.UnderlayTunnel, r.Verdict.UnderlayTunnelDevice, a.Uplink)
		}
	}
}

// vxlanLocal is the local (outer source) address of the VXLAN device node a
// sends to b's first pod by.
func vxlanLocal(l *Lab, a, b *Node) (net.IP, error) {
	_, dev, err := l.KernelMode(a, l.PodsOn(b.Name)[0].IP())
	if err != nil {
		return nil, err
	}
	h, err := topo.Handle(a.Netns)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	link, err := h.LinkByName(dev)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", a.Name, dev, err)
	}
	vx, ok := link.(*netlink.Vxlan)
	if !ok {
		return nil, fmt.Errorf("%s: %s is a %s, not vxlan", a.Name, dev, link.Type())
	}
	return vx.SrcAddr, nil
}
