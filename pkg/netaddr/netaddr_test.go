package netaddr

import (
	"net/netip"
	"testing"
)

func TestValidUnicast(t *testing.T) {
	for s, want := range map[string]bool{
		"10.0.0.1": true, "2001:db8::1": true, "::ffff:10.0.0.1": true,
		"0.0.0.0": false, "127.0.0.1": false, "169.254.1.1": false, "224.0.0.1": false,
		"255.255.255.255": false, "::": false, "::1": false, "fe80::1": false, "ff02::1": false,
	} {
		if got := ValidUnicast(netip.MustParseAddr(s)); got != want {
			t.Errorf("ValidUnicast(%s) = %t, want %t", s, got, want)
		}
	}
	if ValidUnicast(netip.Addr{}) {
		t.Error("ValidUnicast(zero) = true")
	}
}

func TestFamily(t *testing.T) {
	for s, want := range map[string]int{"10.0.0.1": 4, "::ffff:10.0.0.1": 4, "fd00::1": 6} {
		a := netip.MustParseAddr(s)
		if Family(a) != want || Index(a) != (want-4)/2 {
			t.Errorf("%s: family %d index %d", s, Family(a), Index(a))
		}
	}
	ps := []netip.Prefix{netip.MustParsePrefix("10.244.0.0/24"), netip.MustParsePrefix("fd00:1::/64")}
	if p, ok := PickPrefix(ps, 6); !ok || p != ps[1] {
		t.Errorf("PickPrefix(6) = %v %t", p, ok)
	}
	if g := Gateway(ps[0]); g != netip.MustParseAddr("10.244.0.1") {
		t.Errorf("Gateway = %s", g)
	}
}

func TestLast(t *testing.T) {
	for p, want := range map[string]string{
		"10.244.1.0/24": "10.244.1.255", "10.244.1.7/24": "10.244.1.255", "192.0.2.8/30": "192.0.2.11",
		"192.0.2.9/32": "192.0.2.9", "0.0.0.0/0": "255.255.255.255",
		"fd00:1::/64": "fd00:1::ffff:ffff:ffff:ffff", "2001:db8::/126": "2001:db8::3", "2001:db8::5/128": "2001:db8::5",
	} {
		if got := Last(netip.MustParsePrefix(p)); got != netip.MustParseAddr(want) {
			t.Errorf("Last(%s) = %s, want %s", p, got, want)
		}
	}
}
