package agent

import (
	"net/netip"
	"testing"

	"github.com/offload-overlay/offload-overlay/pkg/agent/config"
	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/offload"
)

// Both ends build the decision input from the same two annotations, so a
// pair gets the same mode whichever node computes it.
func TestComputePathsSymmetric(t *testing.T) {
	capable := offload.Verdict{TunnelSegmentation: true, TunnelSegmentationCsum: true}
	weak := offload.Verdict{}
	cases := []struct {
		name         string
		va, vb       offload.Verdict
		onLink       bool
		probeA, prbB bool
		want         decision.Mode
	}{
		{"on-link", capable, weak, true, false, false, decision.ModeNative},
		{"off-link capable", capable, capable, false, false, false, decision.ModeVXLAN},
		{"off-link one weak", capable, weak, false, false, false, decision.ModeVXLAN},
		{"off-link probed both ways", weak, weak, false, true, true, decision.ModeNative},
		{"off-link probed one way", capable, capable, false, true, false, decision.ModeVXLAN},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fa, fb := facts("192.168.0.1"), facts("192.168.1.1")
			fa.Verdict, fb.Verdict = tc.va, tc.vb
			if tc.probeA {
				fa.NativeProbe = map[string]bool{"b": true}
			}
			if tc.prbB {
				fb.NativeProbe = map[string]bool{"a": true}
			}
			la := LocalNode{Name: "a", IPs: []netip.Addr{netip.MustParseAddr("192.168.0.1")}, PodCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/24")}}
			lb := LocalNode{Name: "b", IPs: []netip.Addr{netip.MustParseAddr("192.168.1.1")}, PodCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.1.0/24")}}
			pa := Peer{Name: "a", Facts: fa, PodCIDRs: la.PodCIDRs, IPs: [2]netip.Addr{la.IPs[0]}}
			pb := Peer{Name: "b", Facts: fb, PodCIDRs: lb.PodCIDRs, IPs: [2]netip.Addr{lb.IPs[0]}}
			pa.MACs[0], pb.MACs[0] = mustMAC("02:00:00:00:00:0a"), mustMAC("02:00:00:00:00:0b")
			rt := func(netip.Addr) (Route, error) {
				if tc.onLink {
					return Route{OnLink: true, DeviceIndex: 2}, nil
				}
				return Route{Gateway: netip.MustParseAddr("192.168.9.9"), DeviceIndex: 2}, nil
			}
			ag := &Agent{cfg: &config.Config{Decision: decision.Config{Mode: decision.ModeAuto}}, decide: decision.Decide}
			va := ag.computePaths(la, fa, Uplink{MTU: 1500, Verdict: tc.va}, []Peer{pb}, rt)
			vb := ag.computePaths(lb, fb, Uplink{MTU: 1500, Verdict: tc.vb}, []Peer{pa}, rt)
			if len(va.paths) != 1 || len(vb.paths) != 1 {
				t.Fatalf("paths: %v / %v (ignored %v %v)", va.paths, vb.paths, va.ignored, vb.ignored)
			}
			if va.paths[0].Mode != tc.want || vb.paths[0].Mode != tc.want {
				t.Fatalf("modes a->b %s, b->a %s, want %s (%v)", va.paths[0].Mode, vb.paths[0].Mode, tc.want, va.paths[0].Reasons)
			}
			if tc.want == decision.ModeNative && !tc.onLink && va.paths[0].Via.String() != "192.168.9.9" {
				t.Errorf("off-link native path has no underlay next hop: %+v", va.paths[0])
			}
			if !tc.onLink && len(va.probes) != 1 {
				t.Errorf("off-link peer not probed: %v", va.probes)
			}
			wantMTU := 1450
			if tc.want == decision.ModeNative {
				wantMTU = 1500
			}
			if va.podMTU != wantMTU || va.allNat != (tc.want == decision.ModeNative) {
				t.Errorf("pod MTU %d (all native %v), want %d", va.podMTU, va.allNat, wantMTU)
			}
		})
	}
}

func TestPodMTUWithoutPeers(t *testing.T) {
	ag := &Agent{cfg: &config.Config{Decision: decision.Config{Mode: decision.ModeAuto}}, decide: decision.Decide}
	local := LocalNode{Name: "a", IPs: []netip.Addr{netip.MustParseAddr("fd00::1")}, PodCIDRs: []netip.Prefix{netip.MustParsePrefix("fd00:10::/64")}}
	f := facts("fd00::1")
	v := ag.computePaths(local, f, Uplink{MTU: 1500, Verdict: offload.Verdict{TunnelSegmentation: true, TunnelSegmentationCsum: true}}, nil, nil)
	if v.podMTU != 1430 {
		t.Fatalf("pod MTU with no peer over an IPv6 underlay = %d, want 1430 (VXLAN over IPv6)", v.podMTU)
	}
}
