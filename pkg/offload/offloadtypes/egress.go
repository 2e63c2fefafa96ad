package offloadtypes

import "net"

// Hop is one next hop of the route towards a peer: the device the packet
// leaves by and the gateway it is handed to (nil: the peer is on-link).
type Hop struct {
	Device string `json:"device"`
	Index  int    `json:"index"`
	// Kind is the device's rtnetlink kind ("veth", "vxlan", "bridge", ...).
	Kind    string `json:"kind"`
	Gateway net.IP `json:"gateway,omitempty"`
	// OnLink: no gateway and an Ethernet device (same L2 as the peer).
	OnLink bool `json:"onLink"`
}

// Egress is what this node's kernel does with packets to one peer node IP:
// the route it picks (after `ip rule` policy routing), every next hop of
// that route (ECMP), and the device stack below each hop's device. A native
// route to the peer's pod CIDR copies it (device, gateway, source), and the
// offload walk, the tunnel underlay and the MTU of the pair are read from
// it, not from "the uplink".
type Egress struct {
	Peer net.IP `json:"peer"`
	// Hop is the next hop the kernel picks for the node IP itself
	// (`ip route get PEER`); with ECMP, one of Hops.
	Hop
	// Hops are every next hop of the matched route (`ip route get fibmatch
	// PEER`), the chosen one first: one without multipath.
	Hops []Hop `json:"hops"`
	// Source is the route's preferred source address.
	Source net.IP `json:"source,omitempty"`
	// Table is the routing table the lookup ended in (254: main).
	Table int `json:"table"`
	// MTU is the smallest MTU over the hops' devices and the route's own
	// `mtu` metric: what a packet to the peer can carry unfragmented.
	MTU int `json:"mtu"`
	// Path is the walk below every hop's device (the union, depth first).
	Path *Path `json:"path"`
	// Verdict is the offload verdict of Path: tunnel segmentation and the
	// tunnel underlay of this pair's path.
	Verdict Verdict `json:"verdict"`
}

// AllOnLink reports whether every next hop is on-link: only then does a
// route "PODCIDR via PEER dev DEV onlink" reach the peer whatever hop a
// flow hashes to.
func (e *Egress) AllOnLink() bool {
	for _, h := range e.Hops {
		if !h.OnLink {
			return false
		}
	}
	return len(e.Hops) > 0
}
