package agent

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/offload-overlay/offload-overlay/pkg/admission"
	"github.com/offload-overlay/offload-overlay/pkg/agent/config"
	"github.com/offload-overlay/offload-overlay/pkg/datapath"
	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/offload/offloadtypes"
)

// Both ends build the decision input from the same two annotations, so a
// pair gets the same mode whichever node computes it.
func TestComputePathsSymmetric(t *testing.T) {
	capable := offloadtypes.Verdict{TunnelSegmentation: true, TunnelSegmentationCsum: true}
	weak := offloadtypes.Verdict{}
	cases := []struct {
		name         string
		va, vb       offloadtypes.Verdict
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
			la := datapath.LocalNode{Name: "a", IPs: []netip.Addr{netip.MustParseAddr("192.168.0.1")}, PodCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/24")}}
			lb := datapath.LocalNode{Name: "b", IPs: []netip.Addr{netip.MustParseAddr("192.168.1.1")}, PodCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.1.0/24")}}
			pa := admission.Peer{Name: "a", Facts: fa, PodCIDRs: la.PodCIDRs, IPs: [2]netip.Addr{la.IPs[0]}}
			pb := admission.Peer{Name: "b", Facts: fb, PodCIDRs: lb.PodCIDRs, IPs: [2]netip.Addr{lb.IPs[0]}}
			pa.MACs[0], pb.MACs[0] = mustMAC("02:00:00:00:00:0a"), mustMAC("02:00:00:00:00:0b")
			rt := func(netip.Addr) (datapath.Route, error) {
				if tc.onLink {
					return datapath.Route{OnLink: true, DeviceIndex: 2}, nil
				}
				return datapath.Route{Gateway: netip.MustParseAddr("192.168.9.9"), DeviceIndex: 2}, nil
			}
			ag := &Agent{cfg: &config.Config{Decision: decision.Config{Mode: decision.ModeAuto}}, decide: decision.Decide}
			va := ag.computePaths(la, fa, datapath.Uplink{MTU: 1500, Verdict: tc.va}, []admission.Peer{pb}, rt)
			vb := ag.computePaths(lb, fb, datapath.Uplink{MTU: 1500, Verdict: tc.vb}, []admission.Peer{pa}, rt)
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
	local := datapath.LocalNode{Name: "a", IPs: []netip.Addr{netip.MustParseAddr("fd00::1")}, PodCIDRs: []netip.Prefix{netip.MustParsePrefix("fd00:10::/64")}}
	f := facts("fd00::1")
	v := ag.computePaths(local, f, datapath.Uplink{MTU: 1500, Verdict: offloadtypes.Verdict{TunnelSegmentation: true, TunnelSegmentationCsum: true}}, nil, nil)
	if v.podMTU != 1430 {
		t.Fatalf("pod MTU with no peer over an IPv6 underlay = %d, want 1430 (VXLAN over IPv6)", v.podMTU)
	}
}

// A dual-stack node lists its IPv4 address first; its IPv6 paths will
// still need the IPv6 outer overhead, so pods made before any peer must get
// that MTU already.
func TestPodMTUWithoutPeersDualStack(t *testing.T) {
	ag := &Agent{cfg: &config.Config{Decision: decision.Config{Mode: decision.ModeAuto}}, decide: decision.Decide}
	local := datapath.LocalNode{Name: "a", IPs: []netip.Addr{netip.MustParseAddr("192.168.0.1"), netip.MustParseAddr("fd00::1")},
		PodCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/24"), netip.MustParsePrefix("fd00:10::/64")}}
	f := facts("192.168.0.1", "fd00::1")
	v := ag.computePaths(local, f, datapath.Uplink{MTU: 1500, Verdict: offloadtypes.Verdict{TunnelSegmentation: true, TunnelSegmentationCsum: true}}, nil, nil)
	if v.podMTU != 1430 {
		t.Fatalf("pod MTU with no peer on a dual-stack node = %d, want 1430 (VXLAN over IPv6)", v.podMTU)
	}
}

// BenchmarkSync1000 is the in-memory part of one converge at 1000 peers:
// validation (admission.Admit) and the decision for every path.
func BenchmarkSync1000(b *testing.B) {
	local := datapath.LocalNode{Name: "me", IPs: []netip.Addr{netip.MustParseAddr("192.168.250.250")}, PodCIDRs: []netip.Prefix{netip.MustParsePrefix("10.63.0.0/24")}}
	var nodes []*corev1.Node
	for i := 1; i <= 1000; i++ {
		f := facts(netip.AddrFrom4([4]byte{192, 168, byte(i / 250), byte(i%250 + 1)}).String())
		f.Verdict = offloadtypes.Verdict{TunnelSegmentation: true, TunnelSegmentationCsum: true}
		raw, _ := json.Marshal(f)
		n := mkNode(fmt.Sprintf("peer-%04d", i), i, string(raw), netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(64 + i>>8), byte(i & 255), 0}), 24).String())
		n.ResourceVersion = "1"
		nodes = append(nodes, n)
	}
	ag := &Agent{cfg: &config.Config{Decision: decision.Config{Mode: decision.ModeAuto}}, decide: decision.Decide, parsed: admission.NewCache()}
	lf := facts("192.168.250.250")
	rt := func(ip netip.Addr) (datapath.Route, error) {
		if ip.As4()[3]%2 == 0 {
			return datapath.Route{OnLink: true, DeviceIndex: 2}, nil
		}
		return datapath.Route{Gateway: netip.MustParseAddr("192.168.255.254"), DeviceIndex: 2}, nil
	}
	b.ResetTimer()
	for range b.N {
		ag.parsed.Begin()
		peers, _, _ := admission.Admit(ag.parsed.Parse, local, nil, nodes)
		ag.parsed.End()
		v := ag.computePaths(local, lf, datapath.Uplink{MTU: 1500}, peers, rt)
		if len(v.paths) != 1000 {
			b.Fatalf("%d paths", len(v.paths))
		}
	}
}
