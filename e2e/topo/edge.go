package topo

import (
	"fmt"
	"net/netip"
	"slices"
)

// Edge tunnels (NodeSpec.Hub): point-to-point VXLAN between an edge node
// and its hub over the transport segment. Port 8473 keeps them apart from
// the tunnel underlay (8472) and the overlay (4789).
const (
	EdgeVNIBase = 200
	EdgePort    = 8473
	edgeSubnet  = 10 // third octet of edge k's tunnel subnet: 10+k
)

// validNode checks one node's building blocks against the rest of s.
func (s Spec) validNode(n NodeSpec) error {
	switch {
	case n.Hub != "":
		h := s.nodeSpec(n.Hub)
		if n.Segment != SegEdge || h == nil || h.Hub != "" || h.Segment == SegX || h.ClusterSegment != "" || n.BridgeUplink || n.ClusterSegment != "" {
			return fmt.Errorf("node %s: hub %q: an edge has segment e, no bridge or second NIC, and a plain node (a, b, c) as hub", n.Name, n.Hub)
		}
	case n.Segment == SegEdge:
		return fmt.Errorf("node %s: segment e needs a hub", n.Name)
	default:
		if _, ok := segmentIndex[n.Segment]; !ok || n.Segment == segT {
			return fmt.Errorf("node %s: segment %q: want a, b, c, x or e", n.Name, n.Segment)
		}
	}
	if c := n.ClusterSegment; c != "" && (c == n.Segment || c == SegX || c == segT || segmentIndex[c] == 0 || n.Segment == SegX || n.BridgeUplink) {
		return fmt.Errorf("node %s: cluster segment %q: want another plain segment than %s, no bridge uplink", n.Name, c, n.Segment)
	}
	return nil
}

func (s Spec) nodeSpec(name string) *NodeSpec {
	for i := range s.Nodes {
		if s.Nodes[i].Name == name {
			return &s.Nodes[i]
		}
	}
	return nil
}

// edgeIndex is k of an edge node (its order among the edges), -1 otherwise.
func (s Spec) edgeIndex(name string) int {
	k := 0
	for _, n := range s.Nodes {
		if n.Hub == "" {
			continue
		}
		if n.Name == name {
			return k
		}
		k++
	}
	return -1
}

// edgeV4/edgeV6 are the addresses of edge k's tunnel subnet (host 1: the
// hub's end, 2: the edge's node IP).
func (p plan) edgeV4(k, host int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{172, byte(p.site), byte(edgeSubnet + k), byte(host)}), 24)
}

func (p plan) edgeV6(k, host int) netip.Prefix {
	b := p.v6(SegA, host).Addr().As16()
	b[4], b[5] = bcd(edgeSubnet + k)
	return netip.PrefixFrom(netip.AddrFrom16(b), 64)
}

// describeEdge fills an edge node's names and addresses.
func describeEdge(s Spec, p plan, k int, node *Node) {
	node.Uplink, node.Lower, node.MTU = "tun0", "eth0", s.MTU-UnderlayOverhead
	node.IPv4, node.IPv6 = p.edgeV4(k, 2).Addr().String(), p.edgeV6(k, 2).Addr().String()
	node.Gateway4, node.Gateway6 = p.edgeV4(k, 1).Addr().String(), p.edgeV6(k, 1).Addr().String()
}

// edgeNode wires an edge: eth0 on the transport segment, tun0 to the hub
// with the node IPs, and its routes.
// Equivalent to: `ip link add tun0 type vxlan id 200+k remote HUB local ME
// dstport 8473 dev eth0`, `ip route add default via HUB-END` (or the lab's
// prefixes only, the default via the transport router).
func (b *builder) edgeNode(host int, n *Node, spec NodeSpec) error {
	k := b.spec.edgeIndex(n.Name)
	if err := addVeth(n.Netns, "eth0", b.t.Switch, n.SwitchPort, b.spec.MTU); err != nil {
		return err
	}
	if err := setMaster(b.t.Switch, n.SwitchPort, "br-"+segT); err != nil {
		return err
	}
	if n.NoTunnelOffload {
		if err := setTunnelOffload(n.Netns, "eth0", false); err != nil {
			return err
		}
	}
	local := b.p.v4(segT, host)
	if err := addAddr(n.Netns, "eth0", local); err != nil {
		return err
	}
	hub := b.p.v4(segT, firstNode+slices.IndexFunc(b.spec.Nodes, func(o NodeSpec) bool { return o.Name == spec.Hub })).Addr()
	if err := addVXLAN(n.Netns, "tun0", "eth0", EdgeVNIBase+k, EdgePort, n.MTU, local.Addr(), []netip.Addr{hub}); err != nil {
		return err
	}
	addrs := []netip.Prefix{b.p.edgeV6(k, 2)}
	if !b.spec.IPv6Only {
		addrs = append(addrs, b.p.edgeV4(k, 2))
	}
	for _, a := range addrs {
		if err := addAddr(n.Netns, "tun0", a); err != nil {
			return err
		}
	}
	gw4, gw6 := b.p.edgeV4(k, 1).Addr(), b.p.edgeV6(k, 1).Addr()
	type route struct {
		dst netip.Prefix
		gw  netip.Addr
	}
	// The tunnel carries IPv4 only when the edge has IPv4 node IPs; the
	// transport's IPv4 default stays otherwise.
	routes := []route{{netip.MustParsePrefix("::/0"), gw6}, {netip.MustParsePrefix("0.0.0.0/0"), gw4}}
	if !spec.TunnelDefault {
		routes = []route{{b.p.labV6(), gw6}, {b.p.labV4(), gw4}, {netip.MustParsePrefix("0.0.0.0/0"), b.p.v4(segT, routerHost).Addr()}}
	}
	for _, r := range routes {
		if b.spec.IPv6Only && r.gw == gw4 {
			continue
		}
		if err := addRoute(n.Netns, r.dst, r.gw, 0); err != nil {
			return err
		}
	}
	return nil
}

// hubs gives every hub its end of each edge's tunnel (over eth1 on the
// transport segment) and makes the router route each edge's subnet via the
// hub's node IP.
func (b *builder) hubs() error {
	for i, n := range b.spec.Nodes {
		if n.Hub == "" {
			continue
		}
		k := b.spec.edgeIndex(n.Name)
		hi := slices.IndexFunc(b.spec.Nodes, func(o NodeSpec) bool { return o.Name == n.Hub })
		hub := &b.t.Nodes[hi]
		hubT := b.p.v4(segT, firstNode+hi)
		if err := b.hubTransport(hub, hubT); err != nil {
			return err
		}
		dev := fmt.Sprintf("e%d", k)
		edgeT := b.p.v4(segT, firstNode+i).Addr()
		if err := addVXLAN(hub.Netns, dev, "eth1", EdgeVNIBase+k, EdgePort, b.spec.MTU-UnderlayOverhead, hubT.Addr(), []netip.Addr{edgeT}); err != nil {
			return err
		}
		for _, a := range []netip.Prefix{b.p.edgeV4(k, 1), b.p.edgeV6(k, 1)} {
			if err := addAddr(hub.Netns, dev, a); err != nil {
				return err
			}
		}
		for _, r := range []struct{ dst, gw string }{{b.p.edgeV4(k, 0).Masked().String(), hub.IPv4}, {b.p.edgeV6(k, 0).Masked().String(), hub.IPv6}} {
			gw, err := netip.ParseAddr(r.gw)
			if err != nil {
				continue // an IPv6-only lab has no IPv4 hub address
			}
			if err := addRoute(b.t.Router, netip.MustParsePrefix(r.dst), gw, 0); err != nil {
				return err
			}
		}
	}
	return nil
}

// hubTransport adds the hub's eth1 on the transport segment once.
func (b *builder) hubTransport(hub *Node, addr netip.Prefix) error {
	h, err := Handle(hub.Netns)
	if err != nil {
		return err
	}
	_, lerr := h.LinkByName("eth1")
	h.Close()
	if lerr == nil {
		return nil
	}
	port := hub.SwitchPort + "t"
	if err := addVeth(hub.Netns, "eth1", b.t.Switch, port, b.spec.MTU); err != nil {
		return err
	}
	if err := setMaster(b.t.Switch, port, "br-"+segT); err != nil {
		return err
	}
	return addAddr(hub.Netns, "eth1", addr)
}

// twoNICNode wires a node with its default route on eth0 (Segment) and its
// node IPs on eth1 (ClusterSegment).
func (b *builder) twoNICNode(host int, n *Node, spec NodeSpec) error {
	for _, nic := range []struct{ dev, port, seg string }{{"eth0", n.SwitchPort, spec.Segment}, {"eth1", n.SwitchPort + "c", spec.ClusterSegment}} {
		if err := addVeth(n.Netns, nic.dev, b.t.Switch, nic.port, b.spec.MTU); err != nil {
			return err
		}
		if err := setMaster(b.t.Switch, nic.port, "br-"+nic.seg); err != nil {
			return err
		}
		if n.NoTunnelOffload {
			if err := setTunnelOffload(n.Netns, nic.dev, false); err != nil {
				return err
			}
		}
		addrs := []netip.Prefix{b.p.v6(nic.seg, host)}
		if !b.spec.IPv6Only {
			addrs = append(addrs, b.p.v4(nic.seg, host))
		}
		for _, a := range addrs {
			if err := addAddr(n.Netns, nic.dev, a); err != nil {
				return err
			}
		}
	}
	if !b.spec.IPv6Only {
		if err := addRoute(n.Netns, netip.MustParsePrefix("0.0.0.0/0"), b.p.v4(spec.Segment, routerHost).Addr(), 0); err != nil {
			return err
		}
	}
	return addRoute(n.Netns, netip.MustParsePrefix("::/0"), b.p.v6(spec.Segment, routerHost).Addr(), 0)
}
