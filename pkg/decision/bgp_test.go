package decision

import (
	"strings"
	"testing"
)

// Rule 2 with BGP: the probes decide, BGP only words the reason; both ends
// give the same reason.
func TestRule2AnnouncedOverBGP(t *testing.T) {
	cases := []struct {
		name         string
		bgp, probes  [2]bool
		wantMode     Mode
		wantRule     int
		wantContains string
		wantAbsent   string
	}{
		{name: "both announced, both probes", bgp: [2]bool{true, true}, probes: [2]bool{true, true},
			wantMode: ModeNative, wantRule: 2, wantContains: "both pod CIDRs announced over BGP, probe verified"},
		{name: "one announced, both probes", bgp: [2]bool{true, false}, probes: [2]bool{true, true},
			wantMode: ModeNative, wantRule: 2, wantContains: "one end's pod CIDR announced over BGP, probe verified"},
		{name: "no BGP, both probes", probes: [2]bool{true, true},
			wantMode: ModeNative, wantRule: 2, wantContains: "native probe", wantAbsent: "BGP"},
		{name: "announced, one probe failed", bgp: [2]bool{true, true}, probes: [2]bool{true, false},
			wantMode: ModeVXLAN, wantRule: 5, wantContains: "announced over BGP but the native probes did not both pass", wantAbsent: "probe verified"},
		{name: "announced, no probe yet", bgp: [2]bool{true, true},
			wantMode: ModeVXLAN, wantRule: 5, wantAbsent: "probe verified"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{Local: side(incapable, false), Peer: side(incapable, false), PeerNodeIP: "192.168.2.2", PeerPodCIDR: "10.244.2.0/24"}
			in.Local.BGPAnnounced, in.Peer.BGPAnnounced = tc.bgp[0], tc.bgp[1]
			in.Local.NativeProbeOK, in.Peer.NativeProbeOK = tc.probes[0], tc.probes[1]
			for _, view := range []Input{in, Swap(in)} {
				r := Decide(Config{}, view)
				all := strings.Join(r.Reasons, "\n")
				if r.Mode != tc.wantMode || r.Rule != tc.wantRule {
					t.Errorf("mode %s rule %d, want %s rule %d:\n%s", r.Mode, r.Rule, tc.wantMode, tc.wantRule, all)
				}
				if tc.wantContains != "" && !strings.Contains(all, tc.wantContains) {
					t.Errorf("reasons lack %q:\n%s", tc.wantContains, all)
				}
				if tc.wantAbsent != "" && strings.Contains(all, tc.wantAbsent) {
					t.Errorf("reasons contain %q:\n%s", tc.wantAbsent, all)
				}
			}
		})
	}
}

// The rule 2 reason is the same from both ends (with the node IPs swapped
// out of the comparison): a pair's two doctor reports agree on BGP.
func TestRule2ReasonSymmetric(t *testing.T) {
	for _, bgp := range [][2]bool{{true, true}, {true, false}, {false, true}, {false, false}} {
		in := Input{Local: side(capable, false), Peer: side(capable, false)}
		in.Local.NativeProbeOK, in.Peer.NativeProbeOK = true, true
		in.Local.BGPAnnounced, in.Peer.BGPAnnounced = bgp[0], bgp[1]
		a, b := Decide(Config{}, in), Decide(Config{}, Swap(in))
		if strings.Join(a.Reasons, "\n") != strings.Join(b.Reasons, "\n") {
			t.Errorf("bgp %v: reasons differ:\n%s\n--\n%s", bgp, a.Reasons, b.Reasons)
		}
	}
}
