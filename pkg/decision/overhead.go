package decision

import "github.com/offload-overlay/offload-overlay/pkg/mtu"

// Overhead is the bytes mode adds to each packet for the given outer family,
// from the one overhead table (package mtu): 0 for native and unreachable.
func Overhead(m Mode, ipv6Outer bool) int { return mtu.Overhead(encapOf(m), ipv6Outer) }

// overheadBreakdown spells an overhead out, e.g.
// "20 IPv4 + 8 UDP + 8 VXLAN + 14 inner Ethernet".
func overheadBreakdown(m Mode, ipv6Outer bool) string { return mtu.Breakdown(encapOf(m), ipv6Outer) }

// encapOf is the encapsulation a mode uses (mtu.None for native and unreachable).
func encapOf(m Mode) mtu.Encap {
	switch m {
	case ModeVXLAN:
		return mtu.VXLAN
	case ModeGeneve:
		return mtu.Geneve
	}
	return mtu.None
}
