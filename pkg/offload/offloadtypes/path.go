package offloadtypes

import "net"

// Path is the egress path towards one destination: the route the kernel
// picks and every device a packet crosses below it.
type Path struct {
	// Dest is the destination looked up (nil when the default route was used
	// or the egress device was named).
	Dest net.IP `json:"dest,omitempty"`
	// Gateway is the route's next hop; nil means the destination is on-link.
	Gateway net.IP `json:"gateway,omitempty"`
	// Source is the preferred source address of the route.
	Source net.IP `json:"source,omitempty"`
	// OnLink: no gateway on the route to Dest and an Ethernet egress device
	// (same L2 as the destination); always false without a Dest, and false
	// through an L3 tunnel (tun, wireguard, ipip, gre) even without a gateway.
	OnLink bool `json:"onLink"`
	// Egress is the route's output device (Devices[0].Name).
	Egress string `json:"egress"`
	// Devices are the egress device followed by every device below it,
	// depth first: bridge ports, macvlan/vlan parents, bond slaves, the VRF
	// master, a tunnel's lower device.
	Devices []Device `json:"devices"`
}
