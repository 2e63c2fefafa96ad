package topo

import (
	"fmt"
	"net/netip"
	"strings"
)

// Segment names. Nodes sit on a, b, c (plain L2 segments) or x (the tunnel
// underlay: a VXLAN segment whose outer packets travel over segment t).
const (
	SegA = "a"
	SegB = "b"
	SegC = "c"
	SegX = "x"
	segT = "t"
	// SegEdge is where an edge node sits: behind a point-to-point VXLAN
	// tunnel to its hub (NodeSpec.Hub), on a /24 of its own.
	SegEdge = "e"
)

// DefaultPrefix names everything the lab creates.
const DefaultPrefix = "ool-"

// DefaultSite is the second octet of the lab's 172.S.0.0/16.
const DefaultSite = 28

// Underlay tunnel parameters (segment x). Port 8472 keeps the underlay's
// sockets apart from the overlay's 4789.
const (
	UnderlayVNI  = 100
	UnderlayPort = 8472
	// UnderlayOverhead: outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14.
	UnderlayOverhead = 50
)

// NodeSpec describes one node of the lab.
type NodeSpec struct {
	// Name is short (at most 9 characters): the namespace is prefix+Name.
	Name string `json:"name"`
	// Segment is where the node's uplink sits: a, b, c, or x (tunnel underlay).
	Segment string `json:"segment"`
	// NoTunnelOffload turns tx-udp_tnl-segmentation and
	// tx-udp_tnl-csum-segmentation off on the uplink, like virtio-net.
	NoTunnelOffload bool `json:"noTunnelOffload,omitempty"`
	// PodCIDRs are the node's pod CIDRs, used only when the router routes
	// them (Spec.PodRouteSegments). Optional.
	PodCIDRs []string `json:"podCIDRs,omitempty"`
	// BridgeUplink puts the node IPs on a Linux bridge (br0) whose port is
	// the veth to the segment (eth0; on segment x the underlay's VXLAN
	// device), as on a VM host or in a kind-like node. NoTunnelOffload
	// still applies to eth0.
	BridgeUplink bool `json:"bridgeUplink,omitempty"`
	// GuestPort adds a second port to the bridge uplink: a veth (vm0)
	// towards a guest namespace (prefix+Name+"g"), like a VM's NIC, without
	// tunnel segmentation. Only traffic to the guest uses it.
	GuestPort bool `json:"guestPort,omitempty"`
	// Hub makes this an edge node (Segment "e"): its uplink tun0 is a
	// point-to-point VXLAN tunnel (VNI 200+k, UDP 8473) over eth0 on the
	// transport segment to the named hub node, which gets the tunnel as a
	// second interface (e<k>, over its own eth1 on the transport segment).
	// The node IPs sit on the tunnel (172.S.(10+k).2, hub end .1): on a
	// subnet of their own, and the router routes it via the hub.
	Hub string `json:"hub,omitempty"`
	// TunnelDefault: the edge's default route goes through the tunnel (so
	// it carries every pod CIDR); otherwise only the lab's prefixes do and
	// the default route leaves by the transport.
	TunnelDefault bool `json:"tunnelDefault,omitempty"`
	// ClusterSegment gives the node a second NIC (eth1) on that segment
	// holding the node IPs, while the default route stays on eth0 on
	// Segment (which has an address of its own): peers on ClusterSegment are
	// on-link through eth1, the others through the router on eth0.
	ClusterSegment string `json:"clusterSegment,omitempty"`
}

// Spec is a whole lab underlay.
type Spec struct {
	Prefix string     `json:"prefix"`
	Site   int        `json:"site"`
	Nodes  []NodeSpec `json:"nodes"`
	// PodRouteSegments: the router routes the pod CIDRs of the nodes on these
	// segments, and forwards traffic arriving from them to every node's pod
	// CIDR (policy routing on the ingress leg), like a cloud route table that
	// carries pod CIDRs for part of the network. "*" means every segment.
	PodRouteSegments []string `json:"podRouteSegments,omitempty"`
	// HostLink adds the host-namespace veth (ool-host).
	HostLink bool `json:"hostLink"`
	// Internet adds the internet namespace.
	Internet bool `json:"internet"`
	// MTU of the veth uplinks (default 1500).
	MTU int `json:"mtu,omitempty"`
	// BigTCP raises gso/gro max sizes (IPv4 and IPv6) to BigTCPSize on every
	// veth and bridge of the plain segments, like NICs an operator enabled
	// BIG TCP on (`ip link set eth0 gso_max_size 185000 ...`).
	BigTCP bool `json:"bigTCP,omitempty"`
	// IPv6Only gives the nodes, the host link and the internet IPv6
	// addresses only: no IPv4 address on any node uplink.
	IPv6Only bool `json:"ipv6Only,omitempty"`
}

// BigTCPSize is the GSO/GRO size of BIG TCP uplinks.
const BigTCPSize = 185000

// VariantSpec returns the underlay of one of the variants with two
// nodes (variant 5, the mixed cluster, has four). podRoutes makes the router
// route pod CIDRs on every segment (variant 3's "native once the router
// routes pod CIDRs"); variant 5 always routes them for the tunnel underlay.
func VariantSpec(variant int, podRoutes bool) (Spec, error) {
	s := Spec{Prefix: DefaultPrefix, Site: DefaultSite, HostLink: true, Internet: true}
	switch variant {
	case 1:
		s.Nodes = []NodeSpec{{Name: "n1", Segment: SegA}, {Name: "n2", Segment: SegA}}
	case 2:
		s.Nodes = []NodeSpec{{Name: "n1", Segment: SegA}, {Name: "n2", Segment: SegB}}
	case 3:
		s.Nodes = []NodeSpec{
			{Name: "n1", Segment: SegA, NoTunnelOffload: true},
			{Name: "n2", Segment: SegB, NoTunnelOffload: true},
		}
	case 4:
		s.Nodes = []NodeSpec{{Name: "n1", Segment: SegX}, {Name: "n2", Segment: SegX}}
	case 5:
		// n2-n3 same L2 (1), n1-n2 capable across the router (2), n1-n3
		// across the router with a virtio-like end (3), n4 on a tunnel
		// underlay whose route table carries pod CIDRs (4).
		s.Nodes = []NodeSpec{
			{Name: "n1", Segment: SegA},
			{Name: "n2", Segment: SegB},
			{Name: "n3", Segment: SegB, NoTunnelOffload: true},
			{Name: "n4", Segment: SegX},
		}
		s.PodRouteSegments = []string{SegX}
	default:
		return Spec{}, fmt.Errorf("variant %d: want 1..5", variant)
	}
	if podRoutes {
		s.PodRouteSegments = []string{"*"}
	}
	return s, nil
}

// withDefaults fills zero fields and validates.
func (s Spec) withDefaults() (Spec, error) {
	if s.Prefix == "" {
		s.Prefix = DefaultPrefix
	}
	if s.Site == 0 {
		s.Site = DefaultSite
	}
	if s.MTU == 0 {
		s.MTU = 1500
	}
	if s.Site < 16 || s.Site > 31 {
		return s, fmt.Errorf("site %d: want 16..31 (172.16/12)", s.Site)
	}
	if len(s.Prefix) > 6 {
		return s, fmt.Errorf("prefix %q: at most 6 characters (interface names are 15)", s.Prefix)
	}
	seen := map[string]bool{}
	for _, n := range s.Nodes {
		if n.Name == "" || len(n.Name) > 9 || strings.ContainsAny(n.Name, "/ ") {
			return s, fmt.Errorf("node name %q: want 1..9 characters, no / or space", n.Name)
		}
		if seen[n.Name] {
			return s, fmt.Errorf("node name %q used twice", n.Name)
		}
		seen[n.Name] = true
		if err := s.validNode(n); err != nil {
			return s, err
		}
	}
	if len(s.Nodes) > 40 {
		return s, fmt.Errorf("%d nodes: at most 40", len(s.Nodes))
	}
	return s, nil
}

// routesPodCIDRsOf reports whether the router carries pod CIDRs for seg.
func (s Spec) routesPodCIDRsOf(seg string) bool {
	for _, p := range s.PodRouteSegments {
		if p == "*" || p == seg {
			return true
		}
	}
	return false
}

// segmentIndex is each segment's third octet (and IPv6 subnet id).
var segmentIndex = map[string]int{SegA: 1, SegB: 2, SegC: 3, SegX: 4, segT: 5}

// plan computes addresses from the site number.
type plan struct{ site int }

func (p plan) v4(seg string, host int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{172, byte(p.site), byte(segmentIndex[seg]), byte(host)}), 24)
}

func (p plan) v6(seg string, host int) netip.Prefix {
	var b [16]byte
	b[0], b[1] = 0xfd, 0x00
	b[2], b[3] = bcd(p.site)
	b[4], b[5] = bcd(segmentIndex[seg])
	b[14], b[15] = bcd(host)
	return netip.PrefixFrom(netip.AddrFrom16(b), 64)
}

// hostV4 is the host's address (a /16 covering the whole lab) and routerHostV4
// the router's end of the host link.
func (p plan) hostV4() netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{172, byte(p.site), 0, 1}), 16)
}
func (p plan) routerHostV4() netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{172, byte(p.site), 0, 254}), 24)
}
func (p plan) labV4() netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{172, byte(p.site), 0, 0}), 16)
}

// hostV6 and routerHostV6 are the host link's IPv6 addresses (subnet id 0
// of the lab's fd00:S::/32), labV6 covers every IPv6 underlay address.
func (p plan) hostV6() netip.Prefix       { return p.v6("", 1) }
func (p plan) routerHostV6() netip.Prefix { return p.v6("", 254) }
func (p plan) labV6() netip.Prefix {
	b := p.v6("", 0).Addr().As16()
	return netip.PrefixFrom(netip.AddrFrom16(b), 32)
}

// inetV4/inetV6: the internet namespace's network (198.18.0.0/15 is the
// benchmarking range, RFC 2544; 2001:db8::/32 documentation).
func (p plan) inetV4(host int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(p.site), byte(host)}), 24)
}
func (p plan) inetV6(host int) netip.Prefix {
	b := [16]byte{0x20, 0x01, 0x0d, 0xb8}
	b[4], b[5] = bcd(p.site)
	b[14], b[15] = bcd(host)
	return netip.PrefixFrom(netip.AddrFrom16(b), 64)
}

const (
	routerHost = 1   // router's address in each node segment
	firstNode  = 11  // nodes get .11, .12, ...
	inetHost   = 1   // the internet's address
	routerInet = 254 // router's address towards the internet
)

// bcd writes n (< 10000) so that its hex reads as the decimal number: IPv6
// addresses then mirror the IPv4 ones (172.28.1.11 <-> fd00:28:1::11).
func bcd(n int) (hi, lo byte) {
	d := func(k int) byte { return byte((n / k) % 10) }
	return d(1000)<<4 | d(100), d(10)<<4 | d(1)
}
