package firewall

import (
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// udpTo matches UDP datagrams of family f to port.
// Equivalent to: meta nfproto ipv4 meta l4proto udp udp dport PORT
func udpTo(f family, port uint16) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{f.nfproto}},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_UDP}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(port)},
	}
}

// lookup matches (or with invert, does not match) the address at off in
// the network header against set s.
// Equivalent to: ip saddr [!=] @set
func lookup(f family, off uint32, s *nftables.Set, invert bool) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: f.addrLen},
		&expr.Lookup{SourceRegister: 1, SetName: s.Name, SetID: s.ID, Invert: invert},
	}
}

func countDrop() []expr.Any {
	return []expr.Any{&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop}}
}

func tagged(tag string, f family, port uint16, es ...[]expr.Any) *nftables.Rule {
	var all []expr.Any
	for _, e := range es {
		all = append(all, e...)
	}
	t := fmt.Sprintf("%s (ipv%s, port %d)", tag, f.name, port)
	return &nftables.Rule{Exprs: all, UserData: userdata.AppendString(nil, userdata.TypeComment, t)}
}

// strangerRule drops datagrams to the port from a non-peer source.
func strangerRule(f family, s sets, port uint16) *nftables.Rule {
	return tagged(tagStrangers, f, port, udpTo(f, port), lookup(f, f.saddrOff, s.peers, true), countDrop())
}

// podRule drops datagrams from a local pod to a non-pod destination's port.
func podRule(f family, s sets, port uint16) *nftables.Rule {
	return tagged(tagPods, f, port, udpTo(f, port), lookup(f, f.saddrOff, s.localPods, false),
		lookup(f, f.daddrOff, s.pods, true), countDrop())
}

func addrElements(as []netip.Addr) []nftables.SetElement {
	out := make([]nftables.SetElement, 0, len(as))
	for _, a := range as {
		out = append(out, nftables.SetElement{Key: a.AsSlice()})
	}
	return out
}

// spanElements encodes ranges as an interval set's elements: a start key,
// then an end key flagged IntervalEnd (none for a range running to the
// end of the address space).
func spanElements(ss []span) []nftables.SetElement {
	var out []nftables.SetElement
	for _, s := range ss {
		out = append(out, nftables.SetElement{Key: s.from.AsSlice()})
		if s.to.IsValid() {
			out = append(out, nftables.SetElement{Key: s.to.AsSlice(), IntervalEnd: true})
		}
	}
	return out
}
