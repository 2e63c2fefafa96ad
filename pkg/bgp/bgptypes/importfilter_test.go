package bgptypes

import (
	"net/netip"
	"strings"
	"testing"
)

func TestImportRules(t *testing.T) {
	mp := netip.MustParsePrefix
	ma := netip.MustParseAddr
	rules := ImportRules{
		ClusterCIDRs: []netip.Prefix{mp("10.244.0.0/16"), mp("fd00:10:244::/56")},
		OwnPodCIDRs:  []netip.Prefix{mp("10.244.1.0/24"), mp("fd00:10:244:1::/64")},
		NodeIPs:      []netip.Addr{ma("10.244.200.7"), ma("192.168.1.2")},
		Owned:        func(p netip.Prefix) bool { return p.Overlaps(mp("10.244.3.0/24")) },
	}
	cases := []struct {
		route Route
		why   string // "" = accepted
	}{
		{Route{Prefix: mp("10.244.2.0/24"), NextHop: ma("192.168.2.2")}, ""},
		{Route{Prefix: mp("fd00:10:244:2::/64"), NextHop: ma("fd00::2")}, ""},
		{Route{Prefix: mp("10.245.0.0/24"), NextHop: ma("192.168.2.2")}, "outside the cluster"},
		{Route{Prefix: mp("10.244.0.0/15"), NextHop: ma("192.168.2.2")}, "outside the cluster"},
		{Route{Prefix: mp("0.0.0.0/0"), NextHop: ma("192.168.2.2")}, "outside the cluster"},
		{Route{Prefix: mp("10.244.1.0/24"), NextHop: ma("192.168.2.2")}, "this node's pod CIDR"},
		{Route{Prefix: mp("10.244.0.0/16"), NextHop: ma("192.168.2.2")}, "this node's pod CIDR"},
		{Route{Prefix: mp("10.244.1.128/25"), NextHop: ma("192.168.2.2")}, "this node's pod CIDR"},
		{Route{Prefix: mp("fd00:10:244:1::/64"), NextHop: ma("fd00::2")}, "this node's pod CIDR"},
		{Route{Prefix: mp("10.244.4.0/24"), NextHop: ma("10.244.1.9")}, "next hop inside"},
		{Route{Prefix: mp("10.244.200.0/24"), NextHop: ma("192.168.2.2")}, "covers node IP"},
		{Route{Prefix: mp("10.244.3.0/24"), NextHop: ma("192.168.2.2")}, "agent owns"},
		{Route{Prefix: mp("10.244.2.0/24"), NextHop: ma("fd00::2")}, "family"},
		{Route{Prefix: mp("10.244.2.0/24")}, "family"},
	}
	for _, tc := range cases {
		acc, rej := rules.Filter([]Route{tc.route})
		switch {
		case tc.why == "" && len(acc) != 1:
			t.Errorf("%s via %s: rejected (%v), want accepted", tc.route.Prefix, tc.route.NextHop, rej)
		case tc.why != "" && (len(rej) != 1 || !strings.Contains(rej[0].Reason, tc.why)):
			t.Errorf("%s via %s: accepted=%v rejected=%v, want rejected for %q", tc.route.Prefix, tc.route.NextHop, acc, rej, tc.why)
		}
	}
}

func TestAnnouncementValidate(t *testing.T) {
	mp := netip.MustParsePrefix
	ok := Announcement{PodCIDRs: []netip.Prefix{mp("10.244.1.0/24"), mp("fd00:10:244:1::/64")},
		NextHop4: netip.MustParseAddr("192.168.1.2"), NextHop6: netip.MustParseAddr("fd00::1")}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []Announcement{
		{PodCIDRs: []netip.Prefix{mp("10.244.1.1/24")}, NextHop4: ok.NextHop4},
		{PodCIDRs: []netip.Prefix{mp("0.0.0.0/0")}, NextHop4: ok.NextHop4},
		{PodCIDRs: []netip.Prefix{mp("fd00:10:244:1::/64")}, NextHop4: ok.NextHop4},
		{PodCIDRs: []netip.Prefix{mp("10.244.1.0/24"), mp("10.244.1.0/24")}, NextHop4: ok.NextHop4},
		{PodCIDRs: []netip.Prefix{mp("10.244.1.0/24")}, NextHop4: ok.NextHop6},
	}
	for _, a := range bad {
		if a.Validate() == nil {
			t.Errorf("%+v: accepted", a)
		}
	}
}
