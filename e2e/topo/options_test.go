package topo

import "testing"

// TestDescribeOptions: IPv6Only leaves no IPv4 node address and serves the
// host link and internet over IPv6; BridgeUplink names br0 as the uplink,
// above eth0 or above the tunnel underlay's device.
func TestDescribeOptions(t *testing.T) {
	s := Spec{IPv6Only: true, HostLink: true, Internet: true, Nodes: []NodeSpec{
		{Name: "n1", Segment: SegA, BridgeUplink: true}, {Name: "n2", Segment: SegX, BridgeUplink: true}, {Name: "n3", Segment: SegB}}}
	d, err := Describe(s)
	if err != nil {
		t.Fatal(err)
	}
	if d.HostIP != "fd00:28::1" || len(d.InternetIPs) != 1 || d.InternetIPs[0] != "2001:db8:28::1" {
		t.Errorf("host %s internet %v, want IPv6 only", d.HostIP, d.InternetIPs)
	}
	for _, n := range d.Nodes {
		if n.IPv4 != "" || n.Gateway4 != "" || n.IPv6 == "" || n.Gateway6 == "" {
			t.Errorf("%s: %q %q %q %q, want IPv6 only", n.Name, n.IPv4, n.Gateway4, n.IPv6, n.Gateway6)
		}
	}
	for i, want := range [][3]any{{"br0", "eth0", 1500}, {"br0", "eth0", 1450}, {"eth0", "", 1500}} {
		n := d.Nodes[i]
		if n.Uplink != want[0] || n.Lower != want[1] || n.MTU != want[2] {
			t.Errorf("%s: uplink %s lower %q mtu %d, want %v", n.Name, n.Uplink, n.Lower, n.MTU, want)
		}
	}
}
