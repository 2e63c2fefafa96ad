package bgp

import (
	"context"
	"net/netip"
	"testing"

	"github.com/offload-overlay/offload-overlay/pkg/bgp/bgpconfig"
)

func TestAnnouncementPairsFamilies(t *testing.T) {
	mp, ma := netip.MustParsePrefix, netip.MustParseAddr
	a := announcement([]netip.Addr{ma("::ffff:192.168.1.2"), ma("fd00::2")},
		[]netip.Prefix{mp("10.244.1.0/24"), mp("fd00:10:244:1::/64")})
	if a.NextHop4 != ma("192.168.1.2") || a.NextHop6 != ma("fd00::2") || len(a.PodCIDRs) != 2 {
		t.Errorf("dual stack: %+v", a)
	}
	// An IPv4-only node cannot announce its IPv6 pod CIDR (no next hop).
	a = announcement([]netip.Addr{ma("192.168.1.2")}, []netip.Prefix{mp("10.244.1.0/24"), mp("fd00:10:244:1::/64")})
	if len(a.PodCIDRs) != 1 || a.PodCIDRs[0] != mp("10.244.1.0/24") || a.Validate() != nil {
		t.Errorf("IPv4-only: %+v", a)
	}
}

// With BGP off, Ensure starts nothing and Status says off.
func TestManagerOff(t *testing.T) {
	m := NewManager(nil, nil)
	ctx := context.Background()
	if err := m.Ensure(ctx, bgpconfig.Config{}, []netip.Addr{netip.MustParseAddr("192.168.1.2")}, nil); err != nil {
		t.Fatal(err)
	}
	if st, err := m.Status(ctx); err != nil || st.Enabled || m.Speaker() != nil {
		t.Errorf("status %+v err %v, want off", st, err)
	}
	if err := m.Shutdown(ctx); err != nil {
		t.Error(err)
	}
}

func TestRouterID(t *testing.T) {
	ma := netip.MustParseAddr
	if id, _ := routerID([]netip.Addr{ma("fd00::2"), ma("192.168.1.2")}); id != ma("192.168.1.2") {
		t.Errorf("dual stack router ID %s, want the IPv4 node IP", id)
	}
	a, _ := routerID([]netip.Addr{ma("fd00::2")})
	b, _ := routerID([]netip.Addr{ma("fd00::2")})
	c, _ := routerID([]netip.Addr{ma("fd00::3")})
	if !a.Is4() || a != b || a == c || a.IsUnspecified() {
		t.Errorf("IPv6-only router IDs %s %s %s: want stable, distinct, IPv4-shaped", a, b, c)
	}
	if _, err := routerID(nil); err == nil {
		t.Error("no node IP: no error")
	}
}
