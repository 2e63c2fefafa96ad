package decision

import (
	"fmt"
	"strings"
	"testing"

	"github.com/offload-overlay/offload-overlay/pkg/mtu"
	"github.com/offload-overlay/offload-overlay/pkg/offload/offloadtypes"
)

var (
	capable   = offloadtypes.Verdict{TunnelSegmentation: true, TunnelSegmentationCsum: true}
	incapable = offloadtypes.Verdict{Blocker: "eth0 (virtio_net): tx-udp_tnl-segmentation off [fixed]"}
	wgTunnel  = offloadtypes.Verdict{UnderlayTunnel: "wireguard", UnderlayTunnelDevice: "wg0", Blocker: "wg0 (wireguard): tx-udp_tnl-segmentation off [fixed]"}
)

// pairs are the verdict classes of a pair, by name.
var pairs = []struct {
	name        string
	local, peer Side
}{
	{"both capable", side(capable, false), side(capable, false)},
	{"local incapable", side(incapable, false), side(capable, false)},
	{"peer incapable", side(capable, false), side(incapable, false)},
	{"local tunnel only", side(wgTunnel, true), side(capable, false)},
	{"both tunnels carry", side(wgTunnel, true), side(wgTunnel, true)},
	{"peer tunnel lacks route", side(wgTunnel, true), side(wgTunnel, false)},
}

func side(v offloadtypes.Verdict, carries bool) Side {
	return Side{Verdict: v, Encaps: []string{"vxlan"}, UplinkMTU: 1500, UnderlayCarriesPeerPodCIDR: carries}
}

// adjacencies are how the peer is reached, by name.
var adjacencies = []struct {
	name   string
	cfg    Config
	onLink bool
	probes [2]bool
}{
	{name: "on-link", onLink: true},
	{name: "off-link"},
	{name: "underlay routes", cfg: Config{UnderlayRoutesPodCIDRs: true}},
	{name: "both probes", probes: [2]bool{true, true}},
	{name: "one probe", probes: [2]bool{true, false}},
}

// expected[mode] is a grid: one row per pair (in pairs order), one column
// per adjacency (in adjacencies order). N native, V vxlan, G geneve,
// U unreachable, followed by the auto rule (0 for forced modes) and, for
// tunnels, where segmentation happens (h: NIC, s: software, n: nested).
var expected = map[string][]string{
	"auto": {
		"N1 V4h N2 N2 V4h",
		"N1 V5s N2 N2 V5s",
		"N1 V5s N2 N2 V5s",
		"N1 U3 N2 N2 U3",
		"N1 N3 N2 N2 N3",
		"N1 U3 N2 N2 U3",
	},
	"auto+nested": {
		"N1 V4h N2 N2 V4h",
		"N1 V5s N2 N2 V5s",
		"N1 V5s N2 N2 V5s",
		"N1 V3n N2 N2 V3n",
		"N1 N3 N2 N2 N3",
		"N1 V3n N2 N2 V3n",
	},
	"native": {
		"N0 N0 N0 N0 N0",
		"N0 N0 N0 N0 N0",
		"N0 N0 N0 N0 N0",
		"N0 N0 N0 N0 N0",
		"N0 N0 N0 N0 N0",
		"N0 N0 N0 N0 N0",
	},
	"vxlan": {
		"V0h V0h V0h V0h V0h",
		"V0s V0s V0s V0s V0s",
		"V0s V0s V0s V0s V0s",
		"U0 U0 U0 U0 U0",
		"U0 U0 U0 U0 U0",
		"U0 U0 U0 U0 U0",
	},
	"vxlan+nested": {
		"V0h V0h V0h V0h V0h",
		"V0s V0s V0s V0s V0s",
		"V0s V0s V0s V0s V0s",
		"V0n V0n V0n V0n V0n",
		"V0n V0n V0n V0n V0n",
		"V0n V0n V0n V0n V0n",
	},
	// This kernel (and the sides above) cannot create geneve devices.
	"geneve": {
		"U0 U0 U0 U0 U0",
		"U0 U0 U0 U0 U0",
		"U0 U0 U0 U0 U0",
		"U0 U0 U0 U0 U0",
		"U0 U0 U0 U0 U0",
		"U0 U0 U0 U0 U0",
	},
	"geneve+kernel": {
		"G0h G0h G0h G0h G0h",
		"G0s G0s G0s G0s G0s",
		"G0s G0s G0s G0s G0s",
		"U0 U0 U0 U0 U0",
		"U0 U0 U0 U0 U0",
		"U0 U0 U0 U0 U0",
	},
	// auto preferring geneve without kernel support falls back to VXLAN.
	"auto+encap-geneve": {
		"N1 V4h N2 N2 V4h",
		"N1 V5s N2 N2 V5s",
		"N1 V5s N2 N2 V5s",
		"N1 U3 N2 N2 U3",
		"N1 N3 N2 N2 N3",
		"N1 U3 N2 N2 U3",
	},
	"auto+encap-geneve+kernel": {
		"N1 G4h N2 N2 G4h",
		"N1 G5s N2 N2 G5s",
		"N1 G5s N2 N2 G5s",
		"N1 U3 N2 N2 U3",
		"N1 N3 N2 N2 N3",
		"N1 U3 N2 N2 U3",
	},
}

func variant(name string) (Config, bool) {
	var cfg Config
	geneveKernel := false
	for _, part := range strings.Split(name, "+") {
		switch part {
		case "auto", "native", "vxlan", "geneve":
			cfg.Mode = Mode(part)
		case "nested":
			cfg.AllowNestedEncap = true
		case "encap-geneve":
			cfg.Encap = ModeGeneve
		case "kernel":
			geneveKernel = true
		}
	}
	return cfg, geneveKernel
}

func TestDecideTable(t *testing.T) {
	for name, grid := range expected {
		base, geneveKernel := variant(name)
		for i, pair := range pairs {
			cells := strings.Fields(grid[i])
			for j, adj := range adjacencies {
				cfg := base
				cfg.UnderlayRoutesPodCIDRs = adj.cfg.UnderlayRoutesPodCIDRs
				in := Input{Local: pair.local, Peer: pair.peer, OnLink: adj.onLink,
					PeerNodeIP: "192.168.5.2", PeerPodCIDR: "10.244.2.0/24"}
				in.Local.NativeProbeOK, in.Peer.NativeProbeOK = adj.probes[0], adj.probes[1]
				if geneveKernel {
					in.Local.Encaps = []string{"vxlan", "geneve"}
					in.Peer.Encaps = []string{"vxlan", "geneve"}
				}
				got := Decide(cfg, in)
				if s := summary(got); s != cells[j] {
					t.Errorf("%s / %s / %s: got %s, want %s\n  reasons: %s", name, pair.name, adj.name, s, cells[j], strings.Join(got.Reasons, "\n    "))
				}
				checkInvariants(t, cfg, in, got)
			}
		}
	}
}

func summary(r Result) string {
	code := map[Mode]string{ModeNative: "N", ModeVXLAN: "V", ModeGeneve: "G", ModeUnreachable: "U"}[r.Mode]
	s := fmt.Sprintf("%s%d", code, r.Rule)
	if r.Mode == ModeVXLAN || r.Mode == ModeGeneve {
		switch {
		case r.Nested:
			s += "n"
		case r.Segmentation == SegNIC:
			s += "h"
		default:
			s += "s"
		}
	}
	return s
}

// checkInvariants holds for every decision.
func checkInvariants(t *testing.T, cfg Config, in Input, r Result) {
	t.Helper()
	if len(r.Reasons) == 0 {
		t.Errorf("%+v: no reasons", r)
	}
	if r.Nested && !cfg.AllowNestedEncap {
		t.Errorf("nested encapsulation without allowNestedEncap: %+v", r)
	}
	switch r.Mode {
	case ModeUnreachable:
		if r.MTU != 0 || r.Segmentation != "" {
			t.Errorf("unreachable with MTU/segmentation: %+v", r)
		}
	case ModeNative:
		// Never a one-sided route: auto picks native only when each end
		// routes the other's pod CIDR natively.
		auto := cfg.Mode == "" || cfg.Mode == ModeAuto
		if auto && !cfg.UnderlayRoutesPodCIDRs && !(delivers(in, in.Local, in.Peer) && delivers(in, in.Peer, in.Local)) {
			t.Errorf("native with an end that does not deliver: %+v", r)
		}
		if r.Overhead != 0 || r.MTU != pairMTU(in) || r.MTU > in.Local.UplinkMTU {
			t.Errorf("native with overhead: %+v", r)
		}
	default:
		if r.Overhead != Overhead(r.Mode, in.IPv6Underlay) || r.MTU != pairMTU(in)-r.Overhead || r.MTU > in.Local.UplinkMTU-r.Overhead {
			t.Errorf("%s MTU %d overhead %d for uplink %d", r.Mode, r.MTU, r.Overhead, in.Local.UplinkMTU)
		}
	}
}

func TestReasonsNameDeviceCostAndRemedy(t *testing.T) {
	in := Input{Local: side(incapable, false), Peer: side(capable, false), PeerNodeIP: "192.168.5.2", PeerPodCIDR: "10.244.2.0/24"}
	r := Decide(Config{}, in)
	all := strings.Join(r.Reasons, "\n")
	for _, want := range []string{"eth0 (virtio_net)", "tx-udp_tnl-segmentation off [fixed]", "0.30x native", "same L2", "--underlay-routes-pod-cidrs", "1450"} {
		if !strings.Contains(all, want) {
			t.Errorf("rule 5 reasons lack %q:\n%s", want, all)
		}
	}
	in = Input{Local: side(wgTunnel, false), Peer: side(wgTunnel, true), PeerNodeIP: "192.168.5.2", PeerPodCIDR: "10.244.2.0/24"}
	r = Decide(Config{}, in)
	all = strings.Join(r.Reasons, "\n")
	for _, want := range []string{"add 10.244.2.0/24 to AllowedIPs of the wg0 peer for 192.168.5.2", "--allow-nested-encap", "OFFLOAD_OVERLAY_ALLOW_NESTED_ENCAP", "0.20x native"} {
		if !strings.Contains(all, want) {
			t.Errorf("rule 3 reasons lack %q:\n%s", want, all)
		}
	}
	r = Decide(Config{Mode: ModeGeneve}, Input{Local: side(capable, false), Peer: side(capable, false)})
	if r.Mode != ModeUnreachable || !strings.Contains(strings.Join(r.Reasons, " "), "cannot create geneve") {
		t.Errorf("forced geneve without kernel support: %+v", r)
	}
	r = Decide(Config{Encap: ModeGeneve}, Input{Local: side(capable, false), Peer: side(capable, false)})
	if r.Mode != ModeVXLAN || !strings.Contains(strings.Join(r.Reasons, " "), "falling back to VXLAN") {
		t.Errorf("auto preferring geneve without kernel support: %+v", r)
	}
	r = Decide(Config{Mode: "bogus"}, Input{})
	if r.Mode != ModeUnreachable || !strings.Contains(r.Reasons[0], "unknown mode") {
		t.Errorf("unknown mode: %+v", r)
	}
}

func TestIPv6UnderlayNeedsCsumSegmentation(t *testing.T) {
	noCsum := offloadtypes.Verdict{TunnelSegmentation: true, Blocker: ""}
	in := Input{Local: side(noCsum, false), Peer: side(capable, false), IPv6Underlay: true}
	r := Decide(Config{}, in)
	if r.Mode != ModeVXLAN || r.Segmentation != SegSoftware || r.MTU != 1430 || r.Overhead != mtu.VXLANOverheadIPv6 {
		t.Errorf("IPv6 outer without csum segmentation: %+v", r)
	}
	in.IPv6Underlay = false
	if r := Decide(Config{}, in); r.Segmentation != SegNIC || r.MTU != 1450 {
		t.Errorf("IPv4 outer: %+v", r)
	}
}
