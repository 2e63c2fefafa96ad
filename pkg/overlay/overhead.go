package overlay

// Encapsulation overheads per outer family. A pod packet of MTU bytes
// becomes MTU + overhead bytes on the uplink.
const (
	// VXLANOverheadIPv4 = outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14.
	VXLANOverheadIPv4 = 20 + 8 + 8 + 14
	// VXLANOverheadIPv6 = outer IPv6 40 + UDP 8 + VXLAN 8 + inner Ethernet 14.
	VXLANOverheadIPv6 = 40 + 8 + 8 + 14
	// GeneveOverheadIPv4 = outer IPv4 20 + UDP 8 + Geneve 8 (no options) + inner Ethernet 14.
	GeneveOverheadIPv4 = 20 + 8 + 8 + 14
	// GeneveOverheadIPv6 = outer IPv6 40 + UDP 8 + Geneve 8 (no options) + inner Ethernet 14.
	GeneveOverheadIPv6 = 40 + 8 + 8 + 14
)

// Overhead returns the encapsulation overhead in bytes of kind over an
// outer header of the given family (4 or 6).
func Overhead(kind Kind, family int) int {
	switch {
	case kind == KindGeneve && family == 6:
		return GeneveOverheadIPv6
	case kind == KindGeneve:
		return GeneveOverheadIPv4
	case family == 6:
		return VXLANOverheadIPv6
	default:
		return VXLANOverheadIPv4
	}
}
