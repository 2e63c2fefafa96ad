// Package firewall measures what the VXLAN filter of package firewall
// costs: two node namespaces over a veth underlay, one pod each, VXLAN
// between them, single pinned iperf3 stream; cases interleaved round by
// round (no filter, the filter with the two real peers, the filter with
// 5000 more peer addresses in the set), medians and ratios to "no filter"
// of the same round. It prints figures and asserts nothing.
package firewall

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/offload-overlay/offload-overlay/internal/testenv/dplab"
	"github.com/offload-overlay/offload-overlay/pkg/decision"
	fw "github.com/offload-overlay/offload-overlay/pkg/firewall"
	"github.com/offload-overlay/offload-overlay/pkg/overlay"
	"github.com/offload-overlay/offload-overlay/pkg/peers"
)

type setting struct {
	name  string
	on    bool
	extra int // peer addresses added to the set besides the real peers
}

var cases = []setting{{"no filter", false, 0}, {"filter, 4 peers", true, 0}, {"filter, 5004 peers", true, 5000}}

func apply(b *testing.B, l *dplab.Lab, s setting) {
	var all []netip.Addr
	for _, n := range l.Nodes {
		all = append(all, n.IP4, n.IP6)
	}
	for i := range s.extra {
		all = append(all, netip.AddrFrom4([4]byte{172, 16, byte(i >> 8), byte(i)}))
	}
	for _, n := range l.Nodes {
		cfg := fw.Config{Port: overlay.DefaultVXLANPort, Peers: all,
			LocalPodCIDRs: []netip.Prefix{n.PodCIDR4, n.PodCIDR6},
			PodCIDRs:      []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16"), netip.MustParsePrefix("fd00:244::/32")}}
		err := n.NS.Do(func(ns.NetNS) error {
			if !s.on {
				return fw.Cleanup()
			}
			return fw.Ensure(cfg)
		})
		if err != nil {
			b.Fatalf("%s on %s: %v", s.name, n.Name, err)
		}
	}
}

func BenchmarkVXLANFilter(b *testing.B) {
	l := dplab.New(b, dplab.Options{Nodes: 2, PodsPerNode: 1, PodMTU: 1450, LargeRmem: true, Prefix: "oo-h-fwb-"})
	for _, n := range l.Nodes {
		links, err := n.EnsureOverlay(1)
		if err != nil {
			b.Fatal(err)
		}
		h, err := n.Handle()
		if err != nil {
			b.Fatal(err)
		}
		defer h.Close()
		vx := func(a, b *dplab.Node) decision.Mode { return decision.ModeVXLAN }
		if _, err := peers.New(h, links).Apply(l.PeersOf(n, vx)); err != nil {
			b.Fatal(err)
		}
	}
	p, q := l.Nodes[0].Pods[0], l.Nodes[1].Pods[0]
	const rounds, secs = 5, 4
	gbps := make([][]float64, len(cases))
	ratios := make([][]float64, len(cases))
	b.ResetTimer()
	for round := range rounds {
		for i, s := range cases {
			apply(b, l, s)
			g, err := p.Iperf(q, q.IP4, secs, 5201)
			if err != nil {
				b.Fatalf("%s: %v", s.name, err)
			}
			gbps[i] = append(gbps[i], g)
			ratios[i] = append(ratios[i], g/gbps[0][round])
			fmt.Printf("vxlan-filter round %d  %-20s %6.2f Gbit/s  ratio %.2f\n", round+1, s.name, g, ratios[i][round])
		}
	}
	var dropped fw.Counts
	_ = q.Node.NS.Do(func(ns.NetNS) error { var err error; dropped, err = fw.ReadCounts(); return err })
	for i, s := range cases {
		fmt.Printf("vxlan-filter median   %-20s %6.2f Gbit/s  ratio %.2f\n", s.name, median(gbps[i]), median(ratios[i]))
	}
	fmt.Printf("vxlan-filter drops on the receiver during the run: %+v (want zero: only peers sent)\n", dropped)
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
