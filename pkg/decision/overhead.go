package decision

import "fmt"

// Header sizes in bytes that make up an encapsulation overhead.
const (
	IPv4HeaderLen     = 20 // outer IPv4 header, no options
	IPv6HeaderLen     = 40 // outer IPv6 header, no extension headers
	UDPHeaderLen      = 8  // outer UDP header
	VXLANHeaderLen    = 8  // VXLAN header (flags, VNI)
	GeneveHeaderLen   = 8  // Geneve base header (version, opt len, VNI)
	GeneveOptionsLen  = 0  // Geneve TLV options: this datapath sends none
	InnerEthernetLen  = 14 // the inner frame's Ethernet header (no 802.1Q tag)
	nativeOverheadLen = 0
)

// Encapsulation overheads: what an overlay tunnel adds to every pod packet,
// to subtract from the uplink MTU.
const (
	// VXLANOverheadIPv4 = 20 IPv4 + 8 UDP + 8 VXLAN + 14 inner Ethernet = 50.
	VXLANOverheadIPv4 = IPv4HeaderLen + UDPHeaderLen + VXLANHeaderLen + InnerEthernetLen
	// VXLANOverheadIPv6 = 40 IPv6 + 8 UDP + 8 VXLAN + 14 inner Ethernet = 70.
	VXLANOverheadIPv6 = IPv6HeaderLen + UDPHeaderLen + VXLANHeaderLen + InnerEthernetLen
	// GeneveOverheadIPv4 = 20 IPv4 + 8 UDP + 8 Geneve + 0 options + 14 inner Ethernet = 50.
	GeneveOverheadIPv4 = IPv4HeaderLen + UDPHeaderLen + GeneveHeaderLen + GeneveOptionsLen + InnerEthernetLen
	// GeneveOverheadIPv6 = 40 IPv6 + 8 UDP + 8 Geneve + 0 options + 14 inner Ethernet = 70.
	GeneveOverheadIPv6 = IPv6HeaderLen + UDPHeaderLen + GeneveHeaderLen + GeneveOptionsLen + InnerEthernetLen
)

// Overhead is the bytes mode adds to each packet for the given outer family:
// 0 for native (and unreachable), the constants above for the tunnels.
func Overhead(m Mode, ipv6Outer bool) int {
	switch {
	case m == ModeVXLAN && ipv6Outer:
		return VXLANOverheadIPv6
	case m == ModeVXLAN:
		return VXLANOverheadIPv4
	case m == ModeGeneve && ipv6Outer:
		return GeneveOverheadIPv6
	case m == ModeGeneve:
		return GeneveOverheadIPv4
	}
	return nativeOverheadLen
}

// PodMTU is the MTU every pod on the node gets: the uplink MTU minus the
// largest overhead among the reachable peers' results, i.e. the full uplink
// MTU when every peer is native (or there are none yet).
func PodMTU(results []Result, uplinkMTU int) int {
	worst := 0
	for _, r := range results {
		if r.Mode != ModeUnreachable && r.Overhead > worst {
			worst = r.Overhead
		}
	}
	return uplinkMTU - worst
}

// overheadBreakdown spells an overhead out, e.g.
// "20 IPv4 + 8 UDP + 8 VXLAN + 14 inner Ethernet".
func overheadBreakdown(m Mode, ipv6Outer bool) string {
	ip := fmt.Sprintf("%d IPv4", IPv4HeaderLen)
	if ipv6Outer {
		ip = fmt.Sprintf("%d IPv6", IPv6HeaderLen)
	}
	switch m {
	case ModeVXLAN:
		return fmt.Sprintf("%s + %d UDP + %d VXLAN + %d inner Ethernet", ip, UDPHeaderLen, VXLANHeaderLen, InnerEthernetLen)
	case ModeGeneve:
		return fmt.Sprintf("%s + %d UDP + %d Geneve + %d options + %d inner Ethernet", ip, UDPHeaderLen, GeneveHeaderLen, GeneveOptionsLen, InnerEthernetLen)
	}
	return "no encapsulation"
}
