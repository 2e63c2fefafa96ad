package peers

import "net/netip"

// cidrIndex finds an accepted pod CIDR overlapping a new one without
// scanning every peer: pod CIDRs of a cluster share one or two lengths
// (--node-cidr-mask-size per family), so looking the new prefix up at each
// length in use costs a few map lookups. Only an accepted prefix longer
// than the new one (mixed lengths, rare) needs a scan.
type cidrIndex struct {
	owner map[netip.Prefix]string
	lens  map[lenKey]int // accepted prefixes per family and length
}

type lenKey struct {
	v6   bool
	bits int
}

func newCIDRIndex() *cidrIndex {
	return &cidrIndex{owner: make(map[netip.Prefix]string), lens: make(map[lenKey]int)}
}

func (x *cidrIndex) add(p netip.Prefix, name string) {
	if _, ok := x.owner[p]; !ok {
		x.lens[lenKey{p.Addr().Is6(), p.Bits()}]++
	}
	x.owner[p] = name
}

func (x *cidrIndex) remove(p netip.Prefix) {
	if _, ok := x.owner[p]; !ok {
		return
	}
	delete(x.owner, p)
	k := lenKey{p.Addr().Is6(), p.Bits()}
	if x.lens[k]--; x.lens[k] == 0 {
		delete(x.lens, k)
	}
}

// overlap returns an accepted prefix of another peer than self that
// overlaps p, and its owner.
func (x *cidrIndex) overlap(p netip.Prefix, self string) (netip.Prefix, string, bool) {
	v6 := p.Addr().Is6()
	for k := range x.lens {
		if k.v6 != v6 {
			continue
		}
		if k.bits <= p.Bits() { // a container of p (or p itself) at this length
			q := netip.PrefixFrom(p.Addr(), k.bits).Masked()
			if o, ok := x.owner[q]; ok && o != self {
				return q, o, true
			}
			continue
		}
		for q, o := range x.owner { // longer prefixes inside p: scan
			if o != self && q.Bits() == k.bits && q.Addr().Is6() == v6 && p.Contains(q.Addr()) {
				return q, o, true
			}
		}
	}
	return netip.Prefix{}, "", false
}
