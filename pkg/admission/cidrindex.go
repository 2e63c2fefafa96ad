package admission

import (
	"net/netip"
)

// cidrIndex answers "does pod CIDR c overlap a taken CIDR" and "does c
// contain a node IP" in O(number of distinct prefix lengths) instead of
// O(peers), so validating 1000 peers is linear, not quadratic.
type cidrIndex struct {
	exact map[netip.Prefix]owned // taken CIDRs
	lens  map[int]bool           // their distinct lengths
	// under[b] maps a taken CIDR (or node IP) truncated to b bits to
	// itself, for every length b some candidate pod CIDR has.
	under     map[int]map[netip.Prefix]owned
	endpoints map[int]map[netip.Prefix]ownedIP
}

type owned struct {
	cidr  netip.Prefix
	owner string
}

type ownedIP struct {
	ip    netip.Addr
	owner string
}

func newCIDRIndex(candidates []Peer) *cidrIndex {
	x := &cidrIndex{exact: map[netip.Prefix]owned{}, lens: map[int]bool{},
		under: map[int]map[netip.Prefix]owned{}, endpoints: map[int]map[netip.Prefix]ownedIP{}}
	for _, p := range candidates {
		for _, c := range p.PodCIDRs {
			if x.under[c.Bits()] == nil {
				x.under[c.Bits()] = map[netip.Prefix]owned{}
				x.endpoints[c.Bits()] = map[netip.Prefix]ownedIP{}
			}
		}
	}
	return x
}

func (x *cidrIndex) take(c netip.Prefix, owner string) {
	o := owned{c, owner}
	x.exact[c] = o
	x.lens[c.Bits()] = true
	for b, m := range x.under {
		if b <= c.Bits() {
			m[truncate(c.Addr(), b)] = o
		}
	}
}

func (x *cidrIndex) addEndpoint(ip netip.Addr, owner string) {
	for b, m := range x.endpoints {
		if b <= ip.BitLen() {
			m[truncate(ip, b)] = ownedIP{ip, owner}
		}
	}
}

// overlap finds a taken CIDR that contains c, equals it, or lies inside it.
func (x *cidrIndex) overlap(c netip.Prefix) (netip.Prefix, string, bool) {
	for b := range x.lens {
		if b <= c.Bits() {
			if o, ok := x.exact[truncate(c.Addr(), b)]; ok {
				return o.cidr, o.owner, true
			}
		}
	}
	if o, ok := x.under[c.Bits()][c]; ok {
		return o.cidr, o.owner, true
	}
	return netip.Prefix{}, "", false
}

func (x *cidrIndex) endpointIn(c netip.Prefix) (netip.Addr, string, bool) {
	o, ok := x.endpoints[c.Bits()][c]
	return o.ip, o.owner, ok
}

// truncate is a's network of length b (an invalid prefix when b is longer
// than a's family allows, which matches nothing).
func truncate(a netip.Addr, b int) netip.Prefix {
	p, err := a.Prefix(b)
	if err != nil {
		return netip.Prefix{}
	}
	return p
}
