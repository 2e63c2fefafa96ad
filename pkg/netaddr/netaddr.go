// Package netaddr owns the address rules every other package shares: the
// family of an address (4 or 6, and its index 0 or 1 in per-family arrays),
// picking the member of one family from a node's list, which addresses may
// be a tunnel endpoint or a route target, and the pod gateway address. Each
// rule had two homes before (the agent's and the peer converger's, with
// different validity rules); one home keeps the controller and the
// datapath from disagreeing about the same annotation.
package netaddr

import (
	"net"
	"net/netip"
)

// Family returns 4 or 6 (an IPv4-mapped IPv6 address is 4).
func Family(a netip.Addr) int {
	if a.Unmap().Is4() {
		return 4
	}
	return 6
}

// Index returns a's index in per-family arrays: 0 for IPv4, 1 for IPv6.
func Index(a netip.Addr) int {
	if a.Unmap().Is4() {
		return 0
	}
	return 1
}

// PickAddr returns the first address of family (4 or 6) in as.
func PickAddr(as []netip.Addr, family int) (netip.Addr, bool) {
	for _, a := range as {
		if Family(a) == family {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// PickPrefix returns the first prefix of family (4 or 6) in ps.
func PickPrefix(ps []netip.Prefix, family int) (netip.Prefix, bool) {
	for _, p := range ps {
		if Family(p.Addr()) == family {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

// ValidUnicast reports whether a may be a tunnel endpoint or a node IP a
// route points at: it rejects what a hostile or broken annotation could
// use to hijack traffic (unspecified, loopback, multicast, link-local,
// the IPv4 limited broadcast).
func ValidUnicast(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || !a.IsGlobalUnicast() {
		return false // also rejects loopback, multicast, link-local, unspecified
	}
	return a != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// Gateway is the first address of a pod CIDR (10.244.1.1 for
// 10.244.1.0/24, fd00:1::1 for fd00:1::/64): host-local's default gateway,
// never handed to a pod, which the agent also puts on lo as the node's
// native-probe address.
func Gateway(p netip.Prefix) netip.Addr { return p.Masked().Addr().Next() }

// Last is the last address of p: the IPv4 broadcast address (10.244.1.255
// for 10.244.1.0/24), which the endpoint check refuses, and the inclusive
// end of the range the firewall's interval sets hold.
func Last(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// PrefixOf converts a netlink or net package prefix (IPv4-mapped addresses
// unmapped); ok is false when n holds no address.
func PrefixOf(n *net.IPNet) (netip.Prefix, bool) {
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones), true
}
