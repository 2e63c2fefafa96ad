package decision

import (
	"math/rand"
	"reflect"
	"testing"
	"testing/quick"

	"github.com/offload-overlay/offload-overlay/pkg/offload/offloadtypes"
)

// pairCase is a generated (config, input) pair for the property tests.
type pairCase struct {
	Cfg Config
	In  Input
}

// Generate implements quick.Generator: inputs drawn from the values that
// matter to the decision, so that every rule is reached often.
func (pairCase) Generate(r *rand.Rand, _ int) reflect.Value {
	pick := func(xs ...string) string { return xs[r.Intn(len(xs))] }
	genSide := func() Side {
		v := offloadtypes.Verdict{TunnelSegmentation: r.Intn(2) == 0, TunnelSegmentationCsum: r.Intn(2) == 0}
		if tun := pick("", "", "vxlan", "wireguard", "tun", "gre"); tun != "" {
			v.UnderlayTunnel, v.UnderlayTunnelDevice = tun, tun+"0"
		}
		var encaps []string
		switch r.Intn(4) {
		case 0:
			encaps = []string{"vxlan"}
		case 1:
			encaps = []string{"vxlan", "geneve"}
		case 2:
			encaps = []string{"geneve"}
		}
		s := Side{Verdict: v, Encaps: encaps, UplinkMTU: []int{1280, 1400, 1500, 9000}[r.Intn(4)],
			NativeProbeOK: r.Intn(2) == 0, UnderlayCarriesPeerPodCIDR: r.Intn(2) == 0, CarriedByDefault: r.Intn(2) == 0,
			BGPAnnounced: r.Intn(2) == 0}
		// Most ends publish their view of the peer; some are older agents.
		if r.Intn(4) != 0 {
			s.View = View{Known: true, OnLink: r.Intn(3) == 0, Egress: pick("eth0", "eth1", "br0", "e1")}
			if !s.View.OnLink {
				s.View.Gateway = pick("10.0.0.254", "172.31.10.1")
			}
			s.View.Source = pick("10.0.0.1", "172.31.10.1", "")
		}
		return s
	}
	c := pairCase{
		Cfg: Config{
			Mode:                   Mode(pick("", "auto", "native", "vxlan", "geneve")),
			Encap:                  Mode(pick("", "vxlan", "geneve")),
			UnderlayRoutesPodCIDRs: r.Intn(4) == 0,
			AllowNestedEncap:       r.Intn(2) == 0,
		},
		In: Input{Local: genSide(), Peer: genSide(), OnLink: r.Intn(3) == 0, IPv6Underlay: r.Intn(2) == 0,
			PeerNodeIP: "192.168.5.2", PeerPodCIDR: "10.244.2.0/24"},
	}
	return reflect.ValueOf(c)
}

// Both ends of a pair compute the same mode from the same inputs.
func TestDecideSymmetric(t *testing.T) {
	prop := func(c pairCase) bool {
		a, b := Decide(c.Cfg, c.In), Decide(c.Cfg, Swap(c.In))
		if a.Mode != b.Mode || a.Rule != b.Rule || a.MTU != b.MTU || a.Overhead != b.Overhead || a.Nested != b.Nested || a.Segmentation != b.Segmentation {
			t.Logf("asymmetric: %+v\n  local view %+v\n  peer view  %+v", c, a, b)
			return false
		}
		return true
	}
	cfg := &quick.Config{MaxCount: 20000, Rand: rand.New(rand.NewSource(4))}
	if err := quick.Check(prop, cfg); err != nil {
		t.Fatal(err)
	}
}

// Every generated decision satisfies the invariants of the table test.
func TestDecideInvariants(t *testing.T) {
	prop := func(c pairCase) bool {
		checkInvariants(t, c.Cfg, c.In, Decide(c.Cfg, c.In))
		return !t.Failed()
	}
	if err := quick.Check(prop, &quick.Config{MaxCount: 20000, Rand: rand.New(rand.NewSource(5))}); err != nil {
		t.Fatal(err)
	}
}

// Decide is pure: the same input gives the same result.
func TestDecideDeterministic(t *testing.T) {
	prop := func(c pairCase) bool {
		return reflect.DeepEqual(Decide(c.Cfg, c.In), Decide(c.Cfg, c.In))
	}
	if err := quick.Check(prop, &quick.Config{MaxCount: 2000, Rand: rand.New(rand.NewSource(6))}); err != nil {
		t.Fatal(err)
	}
}
