package topofuzz

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"

	"github.com/offload-overlay/offload-overlay/e2e/topo"
)

// Family sets of a generated cluster.
const (
	IPv4Only  = "ipv4"
	DualStack = "dual"
	IPv6Only  = "ipv6"
)

// Case is one generated cluster: the underlay and the pod families.
type Case struct {
	Seed     int64
	Spec     topo.Spec
	Families string
	// ClusterCIDRs are the lab's cluster CIDRs for Families.
	ClusterCIDRs []string
}

// Generate draws a cluster of 3 to 6 nodes from seed; the same seed gives
// the same Case. prefix and site name the lab it will be built as.
func Generate(seed int64, prefix string, site int) Case {
	r := rand.New(rand.NewSource(seed))
	c := Case{Seed: seed, Families: []string{IPv4Only, DualStack, DualStack, IPv6Only}[r.Intn(4)]}
	c.ClusterCIDRs = map[string][]string{
		IPv4Only:  {"10.244.0.0/16"},
		DualStack: {"10.244.0.0/16", "fd44::/48"},
		IPv6Only:  {"fd44::/48"},
	}[c.Families]
	s := topo.Spec{Prefix: prefix, Site: site, HostLink: true, IPv6Only: c.Families == IPv6Only}
	n := 3 + r.Intn(4)
	edges := 0
	for i := 0; i < n; i++ {
		s.Nodes = append(s.Nodes, genNode(r, s.Nodes, fmt.Sprintf("n%d", i+1), &edges))
	}
	s.PodRouteSegments = genPodRoutes(r)
	c.Spec = s
	return c
}

// genNode draws one node: a plain node (a, b or c, maybe without tunnel
// segmentation, maybe on a bridge with a guest port), a node on the tunnel
// underlay x, an edge behind a point-to-point tunnel to an earlier plain
// node, or a node with a second NIC for the cluster network.
func genNode(r *rand.Rand, earlier []topo.NodeSpec, name string, edges *int) topo.NodeSpec {
	seg := func() string { return []string{topo.SegA, topo.SegB, topo.SegC}[r.Intn(3)] }
	n := topo.NodeSpec{Name: name, Segment: seg(), NoTunnelOffload: r.Intn(10) < 3}
	hubs := slices.DeleteFunc(slices.Clone(earlier), func(o topo.NodeSpec) bool {
		return o.Hub != "" || o.Segment == topo.SegX || o.ClusterSegment != ""
	})
	switch k := r.Intn(10); {
	case k < 1:
		n.Segment, n.NoTunnelOffload = topo.SegX, false
	case k < 3 && len(hubs) > 0 && *edges < 2:
		*edges++
		n.Segment, n.Hub, n.TunnelDefault = topo.SegEdge, hubs[r.Intn(len(hubs))].Name, r.Intn(3) > 0
	case k < 4:
		for n.ClusterSegment == "" || n.ClusterSegment == n.Segment {
			n.ClusterSegment = seg()
		}
	case k < 6:
		n.BridgeUplink, n.GuestPort = true, r.Intn(2) == 0
	}
	return n
}

// genPodRoutes: the router carries no pod CIDR, every segment's, or some
// segments' (policy routing on the ingress legs).
func genPodRoutes(r *rand.Rand) []string {
	switch r.Intn(4) {
	case 0, 1:
		return nil
	case 2:
		return []string{"*"}
	}
	var out []string
	for _, s := range []string{topo.SegA, topo.SegB, topo.SegC, topo.SegX} {
		if r.Intn(2) == 0 {
			out = append(out, s)
		}
	}
	return out
}

// WithPodCIDRs gives node i (from 1) the pod CIDRs the lab assigns it
// (10.244.i.0/24, fd44:0:0:i::/64), so that a rebuilt underlay's router
// carries them where the spec says.
func (c Case) WithPodCIDRs() Case {
	nodes := slices.Clone(c.Spec.Nodes)
	for i := range nodes {
		nodes[i].PodCIDRs = nil
		for _, cc := range c.ClusterCIDRs {
			if strings.Contains(cc, ":") {
				nodes[i].PodCIDRs = append(nodes[i].PodCIDRs, fmt.Sprintf("fd44:0:0:%x::/64", i+1))
			} else {
				nodes[i].PodCIDRs = append(nodes[i].PodCIDRs, fmt.Sprintf("10.244.%d.0/24", i+1))
			}
		}
	}
	c.Spec.Nodes = nodes
	return c
}

// String is the case on a few lines: what a failing seed's report shows.
func (c Case) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d: %s, %d nodes, router pod routes %v\n", c.Seed, c.Families, len(c.Spec.Nodes), c.Spec.PodRouteSegments)
	for _, n := range c.Spec.Nodes {
		fmt.Fprintf(&b, "  %s: %s\n", n.Name, describe(n))
	}
	return b.String()
}

func describe(n topo.NodeSpec) string {
	var parts []string
	switch {
	case n.Hub != "":
		def := "lab prefixes through the tunnel, default by the transport"
		if n.TunnelDefault {
			def = "default route through the tunnel"
		}
		parts = append(parts, fmt.Sprintf("edge behind a point-to-point tunnel to %s (%s)", n.Hub, def))
	case n.Segment == topo.SegX:
		parts = append(parts, "uplink is a VXLAN device on the tunnel underlay x")
	case n.ClusterSegment != "":
		parts = append(parts, fmt.Sprintf("two NICs: default route on %s, node IPs on %s", n.Segment, n.ClusterSegment))
	default:
		parts = append(parts, "segment "+n.Segment)
	}
	if n.BridgeUplink {
		parts = append(parts, "bridge uplink")
	}
	if n.GuestPort {
		parts = append(parts, "guest port without tunnel segmentation")
	}
	if n.NoTunnelOffload {
		parts = append(parts, "no tunnel segmentation")
	}
	return strings.Join(parts, ", ")
}

// HubEdge is the topology, run as a fixed case: an edge behind a
// point-to-point tunnel to a hub (default route through the tunnel, node
// IPs on different subnets), a plain node on another segment, the router
// carrying no pod CIDR.
func HubEdge() topo.Spec {
	return topo.Spec{HostLink: true, Nodes: []topo.NodeSpec{
		{Name: "hub", Segment: topo.SegA},
		{Name: "edge", Segment: topo.SegEdge, Hub: "hub", TunnelDefault: true},
		{Name: "n3", Segment: topo.SegB},
	}}
}
