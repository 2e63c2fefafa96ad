package offloadtypes

import (
	"fmt"
	"strings"
)

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
// the kernel segments in software just before it; the weakest device on the
// path decides. A tunnel device on the path encapsulates the whole
// super-packet, after which the devices below need the segmentation feature
// of that tunnel's kind.
func (p *Path) SegmentationFor(t Traffic) SegmentationPoint {
	need, what := FeatTSO, "TCP"
	if t != TrafficNative {
		// The overlay device encapsulates the super-packet whole; from then
		// on every device must segment UDP tunnels.
		need, what = FeatUDPTunnelSeg, t.label()
	}
	for _, d := range p.Devices {
		if !d.Features.On(need) {
			detail := fmt.Sprintf("%s: %s %s: %s super-packets are cut by GSO before %s", d.Label(), need, d.Features.Word(need), what, d.Name)
			if d.Tunnel != "" && t != TrafficNative {
				detail += fmt.Sprintf(", then each piece is encapsulated a second time by the %s underlay (nested)", d.Tunnel)
			}
			return SegmentationPoint{Where: WhereSoftware, Device: d.Name, Detail: detail}
		}
		if d.Tunnel != "" {
			next, ok := tunnelSegFeature(d.Tunnel)
			if !ok {
				return SegmentationPoint{Where: WhereSoftware, Device: d.Name, Detail: fmt.Sprintf(
					"%s: the %s tunnel cuts super-packets in software before it encrypts them or hands them to user space", d.Label(), d.Tunnel)}
			}
			need, what = next, what+" in "+d.Tunnel
		}
	}
	return p.bottom(need, what)
}

func (t Traffic) label() string {
	switch t {
	case TrafficVXLAN:
		return "VXLAN"
	case TrafficGeneve:
		return "Geneve"
	}
	return string(t)
}

// bottom describes the devices at the bottom of the stack (no lower device),
// which all passed the super-packet whole.
func (p *Path) bottom(need, what string) SegmentationPoint {
	var leaves []Device
	kinds := map[string]int{}
	for _, d := range p.Devices {
		if len(d.Lower) > 0 || d.Relation == RelMaster {
			continue
		}
		leaves = append(leaves, d)
		switch d.Kind {
		case "veth":
			kinds["veth"]++
		case "bridge", "bond", "team", "vrf", "macvlan", "ipvlan", "vlan":
			kinds["virtual"]++
		default:
			kinds["nic"]++
		}
	}
	if len(leaves) == 0 {
		return SegmentationPoint{Where: WhereSoftware, Detail: "no device on the path"}
	}
	var nameList, labels []string
	for _, d := range leaves {
		nameList, labels = append(nameList, d.Name), append(labels, d.Label())
	}
	sp := SegmentationPoint{Where: WherePassThrough, Device: strings.Join(nameList, ", ")}
	head := fmt.Sprintf("%s: %s on: %s super-packets", strings.Join(labels, ", "), need, what)
	switch {
	case kinds["nic"] == len(leaves):
		sp.Where, sp.Detail = WhereNIC, head+" are cut by the NIC"
	case kinds["veth"] == len(leaves):
		sp.Detail = head + " pass whole to the veth peer, to be cut further on (by the NIC behind it, or never if they stay in software)"
	default:
		sp.Detail = head + " pass whole to the bottom of the stack"
	}
	return sp
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
