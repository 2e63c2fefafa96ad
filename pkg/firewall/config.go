package firewall

import (
	"net/netip"
	"slices"

	"github.com/offload-overlay/offload-overlay/pkg/netaddr"
)

// Config is the desired filter.
type Config struct {
	// Port is the VXLAN UDP port (the agent's --vxlan-port).
	Port uint16
	// Peers are the endpoint addresses of every admitted peer node: the
	// only sources allowed to send to Port. A family without peers drops
	// every datagram to Port (nobody may send).
	Peers []netip.Addr
	// LocalPodCIDRs are this node's pod CIDRs: the sources whose datagrams
	// to another node's Port are dropped on forward.
	LocalPodCIDRs []netip.Prefix
	// PodCIDRs are the destinations a pod may still send to Port (a pod
	// serving UDP on that port): the cluster CIDRs, or every known node's
	// pod CIDRs when the cluster CIDR of a family is not configured.
	PodCIDRs []netip.Prefix
}

// family is the per-address-family half of the table: set names and the
// offsets of the addresses in the network header.
type family struct {
	name               string // "4" or "6", suffix of the set names
	v6                 bool
	nfproto            byte
	saddrOff, daddrOff uint32
	addrLen            uint32
}

var families = []family{
	{name: "4", nfproto: nfprotoIPv4, saddrOff: 12, daddrOff: 16, addrLen: 4},
	{name: "6", v6: true, nfproto: nfprotoIPv6, saddrOff: 8, daddrOff: 24, addrLen: 16},
}

// NFPROTO values of linux/netfilter.h.
const (
	nfprotoIPv4 = 2
	nfprotoIPv6 = 10
)

func (f family) has(a netip.Addr) bool {
	return a.IsValid() && a.Unmap().Is6() == f.v6
}

// addrs returns the family's addresses of as, unmapped, sorted and
// deduplicated.
func (f family) addrs(as []netip.Addr) []netip.Addr {
	var out []netip.Addr
	for _, a := range as {
		if f.has(a) {
			out = append(out, a.Unmap())
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out)
}

// span is a half-open address range [from, to); to is invalid when the
// range runs to the end of the address space.
type span struct{ from, to netip.Addr }

// spans returns the family's prefixes of ps as sorted, merged ranges: an
// nftables interval set rejects overlapping elements, and a cluster CIDR
// contains its nodes' pod CIDRs.
func (f family) spans(ps []netip.Prefix) []span {
	var in []span
	for _, p := range ps {
		if !p.IsValid() || !f.has(p.Addr()) {
			continue
		}
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-unmapBits(p.Addr())).Masked()
		in = append(in, span{p.Addr(), netaddr.Last(p).Next()})
	}
	slices.SortFunc(in, func(a, b span) int { return a.from.Compare(b.from) })
	var out []span
	for _, s := range in {
		if n := len(out); n > 0 && (!out[n-1].to.IsValid() || out[n-1].to.Compare(s.from) >= 0) {
			if out[n-1].to.IsValid() && (!s.to.IsValid() || s.to.Compare(out[n-1].to) > 0) {
				out[n-1].to = s.to
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

// unmapBits is 96 for an IPv4-mapped IPv6 address: its prefix length
// counts the mapping's 96 bits.
func unmapBits(a netip.Addr) int {
	if a.Is4In6() {
		return 96
	}
	return 0
}
