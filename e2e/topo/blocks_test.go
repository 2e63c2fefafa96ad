package topo

import (
	"strings"
	"testing"
)

// TestBuildingBlocks builds an edge behind a point-to-point tunnel to its
// hub (default route through the tunnel), an edge whose tunnel carries only
// the lab's prefixes, and a two-NIC node, and checks that every node
// reaches every other node and the host, that the routes are the ones the
// blocks promise, and that Down leaves nothing.
func TestBuildingBlocks(t *testing.T) {
	requireRoot(t)
	spec := Spec{Prefix: testPrefix, Site: 30, HostLink: true, Nodes: []NodeSpec{
		{Name: "hub", Segment: SegA},
		{Name: "e1", Segment: SegEdge, Hub: "hub", TunnelDefault: true},
		{Name: "e2", Segment: SegEdge, Hub: "hub"},
		{Name: "two", Segment: SegB, ClusterSegment: SegA},
		{Name: "c", Segment: SegC, NoTunnelOffload: true},
	}}
	unlock, err := Lock(testPrefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(unlock)
	t.Cleanup(func() { _ = Down(testPrefix) })
	lab, err := Up(spec)
	if err != nil {
		t.Fatalf("Up: %v", err)
	}
	checkReachability(t, lab)
	hub, e1, e2, two := lab.Nodes[0], lab.Nodes[1], lab.Nodes[2], lab.Nodes[3]
	for _, c := range []struct {
		ns, dst, want string
	}{
		{hub.Netns, e1.IPv4, "dev e0 "},                          // the hub reaches its edge on-link through the tunnel
		{e1.Netns, hub.IPv4, "via " + e1.Gateway4 + " dev tun0"}, // the edge through the hub's end
		{e1.Netns, "10.244.9.1", "dev tun0"},                     // default through the tunnel
		{e2.Netns, hub.IPv4, "dev tun0"},
		{e2.Netns, "10.244.9.1", "dev eth0"}, // default by the transport
		{two.Netns, hub.IPv4, "dev eth1"},    // cluster peer on-link on eth1
		{hub.Netns, two.IPv4, "dev eth0"},
		{two.Netns, lab.Nodes[4].IPv4, "dev eth0"}, // others through the router on eth0
	} {
		out, err := Exec(c.ns, "ip", "route", "get", c.dst)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, c.want) {
			t.Errorf("%s: ip route get %s = %q, want %q", c.ns, c.dst, out, c.want)
		}
	}
	if err := Down(testPrefix); err != nil {
		t.Fatalf("Down: %v", err)
	}
	if left, err := Leftovers(testPrefix); err != nil || len(left) > 0 {
		t.Fatalf("after Down: %v %v", left, err)
	}
}
