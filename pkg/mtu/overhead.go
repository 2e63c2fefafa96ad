package mtu

import "fmt"

// Encap is an encapsulation the overlay may use; its values are the
// rtnetlink link kinds ("vxlan", "geneve"). The zero value is no
// encapsulation (native routing).
type Encap string

// Encapsulations.
const (
	None   Encap = ""
	VXLAN  Encap = "vxlan"
	Geneve Encap = "geneve"
)

// Header sizes in bytes that make up an encapsulation overhead.
const (
	IPv4HeaderLen    = 20 // outer IPv4 header, no options
	IPv6HeaderLen    = 40 // outer IPv6 header, no extension headers
	UDPHeaderLen     = 8  // outer UDP header
	VXLANHeaderLen   = 8  // VXLAN header (flags, VNI)
	GeneveHeaderLen  = 8  // Geneve base header (version, opt len, VNI)
	GeneveOptionsLen = 0  // Geneve TLV options: this datapath sends none
	InnerEthernetLen = 14 // the inner frame's Ethernet header (no 802.1Q tag)
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

// Overhead is the bytes e adds to each packet for the given outer family:
// 0 for no encapsulation, the constants above for the tunnels.
func Overhead(e Encap, ipv6Outer bool) int {
	switch {
	case e == VXLAN && ipv6Outer:
		return VXLANOverheadIPv6
	case e == VXLAN:
		return VXLANOverheadIPv4
	case e == Geneve && ipv6Outer:
		return GeneveOverheadIPv6
	case e == Geneve:
		return GeneveOverheadIPv4
	}
	return 0
}

// Breakdown spells an overhead out for reasons and doctor, e.g.
// "20 IPv4 + 8 UDP + 8 VXLAN + 14 inner Ethernet".
func Breakdown(e Encap, ipv6Outer bool) string {
	ip := fmt.Sprintf("%d IPv4", IPv4HeaderLen)
	if ipv6Outer {
		ip = fmt.Sprintf("%d IPv6", IPv6HeaderLen)
	}
	switch e {
	case VXLAN:
		return fmt.Sprintf("%s + %d UDP + %d VXLAN + %d inner Ethernet", ip, UDPHeaderLen, VXLANHeaderLen, InnerEthernetLen)
	case Geneve:
		return fmt.Sprintf("%s + %d UDP + %d Geneve + %d options + %d inner Ethernet", ip, UDPHeaderLen, GeneveHeaderLen, GeneveOptionsLen, InnerEthernetLen)
	}
	return "no encapsulation"
}
