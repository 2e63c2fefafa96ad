package gro

import (
	"fmt"
	"slices"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/offload-overlay/offload-overlay/internal/testenv/dplab"
	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/overlay"
	"github.com/offload-overlay/offload-overlay/pkg/peers"
)

// setting is one case: feature states on every node.
type setting struct {
	name                        string
	vxlanGRO, uplinkGRO, udpFwd bool
}

var cases = []setting{
	{"default (vxlan GRO on)", true, false, false},
	{"vxlan GRO off", false, false, false},
	{"uplink GRO on", true, true, false},
	{"uplink GRO + rx-udp-gro-forwarding on", true, true, true},
}

func apply(b *testing.B, n *dplab.Node, s setting) {
	err := n.NS.Do(func(ns.NetNS) error {
		vx := overlay.DeviceName(overlay.KindVXLAN, 4)
		if _, err := Set(vx, FeatureGRO, s.vxlanGRO); err != nil {
			return err
		}
		// udp-gro-forwarding needs GRO: turn it off first, on last.
		if !s.udpFwd {
			if _, err := Set(n.Uplink, FeatureUDPGROForwarding, false); err != nil {
				return err
			}
		}
		if _, err := Set(n.Uplink, FeatureGRO, s.uplinkGRO); err != nil {
			return err
		}
		if s.udpFwd {
			_, err := Set(n.Uplink, FeatureUDPGROForwarding, true)
			return err
		}
		return nil
	})
	if err != nil {
		b.Fatalf("%s on %s: %v", s.name, n.Name, err)
	}
}

// underlay is the sending side's tunnel segmentation: with it (veth
// default) super-packets cross the underlay whole and nothing is left for
// GRO to do; without it (a virtio-like NIC) the sender segments in
// software and the receiver's GRO can re-aggregate.
type underlay struct {
	name   string
	tnlSeg bool
}

var underlays = []underlay{{"tunnel segmentation on", true}, {"tunnel segmentation off", false}}

func setUnderlay(b *testing.B, n *dplab.Node, u underlay) {
	err := n.NS.Do(func(ns.NetNS) error {
		for _, f := range []string{"tx-udp_tnl-segmentation", "tx-udp_tnl-csum-segmentation"} {
			if _, err := Set(n.Uplink, f, u.tnlSeg); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatalf("%s on %s: %v", u.name, n.Name, err)
	}
}

func BenchmarkVXLANGRO(b *testing.B) {
	l := dplab.New(b, dplab.Options{Nodes: 2, PodsPerNode: 1, PodMTU: 1450, LargeRmem: true})
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
	const rounds, secs = 3, 4
	type cell struct {
		gbps, ratios  []float64
		podBPP, upBPP uint64
	}
	res := make([][]cell, len(underlays))
	for u := range res {
		res[u] = make([]cell, len(cases))
	}
	b.ResetTimer()
	for round := 0; round < rounds; round++ {
		for u, ul := range underlays {
			for _, n := range l.Nodes {
				setUnderlay(b, n, ul)
			}
			for i, s := range cases {
				for _, n := range l.Nodes {
					apply(b, n, s)
				}
				pp0, pb0, _, _, _ := dplab.Counters(q.Name, "eth0")
				up0, ub0, _, _, _ := dplab.Counters(q.Node.Name, q.Node.Uplink)
				g, err := p.Iperf(q, q.IP4, secs, 5201)
				if err != nil {
					b.Fatalf("%s, %s: %v", ul.name, s.name, err)
				}
				pp1, pb1, _, _, _ := dplab.Counters(q.Name, "eth0")
				up1, ub1, _, _, _ := dplab.Counters(q.Node.Name, q.Node.Uplink)
				c := &res[u][i]
				c.gbps = append(c.gbps, g)
				c.ratios = append(c.ratios, g/res[u][0].gbps[round])
				c.podBPP, c.upBPP = (pb1-pb0)/max(pp1-pp0, 1), (ub1-ub0)/max(up1-up0, 1)
				fmt.Printf("gro round %d  %-24s %-36s %6.2f Gbit/s  ratio %.2f\n", round+1, ul.name, s.name, g, c.ratios[round])
			}
		}
	}
	for u, ul := range underlays {
		for i, s := range cases {
			c := res[u][i]
			fmt.Printf("gro median   %-24s %-36s %6.2f Gbit/s  ratio %.2f  B/packet: uplink rx %5d, into pod %5d\n",
				ul.name, s.name, median(c.gbps), median(c.ratios), c.upBPP, c.podBPP)
		}
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
