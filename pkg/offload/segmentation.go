package offload

import "fmt"

// Traffic is a kind of pod traffic whose segmentation point doctor explains.
type Traffic string

const (
	TrafficNative Traffic = "native" // routed TCP, no encapsulation
	TrafficVXLAN  Traffic = "vxlan"  // TCP inside one VXLAN level
	TrafficGeneve Traffic = "geneve" // TCP inside one Geneve level
)

// Where super-packets are cut (SegmentationPoint.Where).
const (
	WhereNIC         = "nic"          // the bottom device segments in hardware
	WherePassThrough = "pass-through" // a veth hands them whole to its peer
	WhereSoftware    = "software"     // GSO in the kernel before a device
)

// SegmentationPoint says where a TCP super-packet of one kind of traffic is
// cut into MTU-sized packets on this path.
type SegmentationPoint struct {
	Where  string `json:"where"`
	Device string `json:"device"`
	Detail string `json:"detail"`
}

// SegmentationFor walks the path the way the stack does: each device either
// advertises the segmentation the packet needs (the packet passes whole) or
// the kernel segments in software just before it. A tunnel device on the
// path encapsulates the whole super-packet, after which the devices below
// need the segmentation feature of that tunnel's kind.
func (p *Path) SegmentationFor(t Traffic) SegmentationPoint {
	need, why := FeatTSO, "TCP"
	if t != TrafficNative {
		// The overlay device encapsulates the super-packet whole; from then
		// on every device must segment UDP tunnels.
		need, why = FeatUDPTunnelSeg, string(t)
	}
	for _, d := range p.Devices {
		if !d.Features.On(need) {
			detail := fmt.Sprintf("%s: %s %s: %s super-packets are cut by GSO before %s", d.Label(), need, d.Features.Word(need), why, d.Name)
			if d.Tunnel != "" && t != TrafficNative {
				detail += fmt.Sprintf(", then each piece is encapsulated a second time by the %s underlay (nested)", d.Tunnel)
			}
			return SegmentationPoint{Where: WhereSoftware, Device: d.Name, Detail: detail}
		}
		if d.Tunnel != "" {
			next, ok := tunnelSegFeature(d.Tunnel)
			if !ok {
				return SegmentationPoint{Where: WhereSoftware, Device: d.Name, Detail: fmt.Sprintf(
					"%s: the %s tunnel cuts super-packets in software before it encrypts or hands them to user space", d.Label(), d.Tunnel)}
			}
			need, why = next, why+" in "+d.Tunnel
		}
	}
	return p.bottom(need, why)
}

// bottom describes the last device, which passed the super-packet whole.
func (p *Path) bottom(need, why string) SegmentationPoint {
	if len(p.Devices) == 0 {
		return SegmentationPoint{Where: WhereSoftware, Detail: "no device on the path"}
	}
	d := p.Devices[len(p.Devices)-1]
	switch d.Kind {
	case "veth":
		return SegmentationPoint{Where: WherePassThrough, Device: d.Name, Detail: fmt.Sprintf(
			"%s: %s on: %s super-packets pass whole to the veth peer and are cut further on (by the NIC behind it, or never if they stay in software)", d.Label(), need, why)}
	case "bridge", "bond", "team", "vrf", "macvlan", "ipvlan", "vlan":
		return SegmentationPoint{Where: WherePassThrough, Device: d.Name, Detail: fmt.Sprintf(
			"%s: %s on, no lower device found: %s super-packets pass whole", d.Label(), need, why)}
	}
	return SegmentationPoint{Where: WhereNIC, Device: d.Name, Detail: fmt.Sprintf(
		"%s: %s on: %s super-packets are cut by the NIC", d.Label(), need, why)}
}

// tunnelSegFeature is the feature a device below a tunnel of this kind needs
// to segment the tunnel's super-packets; false for tunnels that always
// segment in software (WireGuard, tun, IPsec).
func tunnelSegFeature(tunnel string) (string, bool) {
	switch tunnel {
	case "vxlan", "geneve", "bareudp":
		return FeatUDPTunnelSeg, true
	case "gre", "gretap", "ip6gre", "ip6gretap", "erspan", "ip6erspan":
		return FeatGRESeg, true
	case "ipip", "sit":
		return FeatIPXIP4Seg, true
	case "ip6tnl":
		return FeatIPXIP6Seg, true
	}
	return "", false
}
