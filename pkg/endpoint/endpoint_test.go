package endpoint

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/offload-overlay/offload-overlay/pkg/overlay"
)

// TestCheck: the hostile endpoints of the issue, each refused with its
// reason; an honest endpoint passes. Both families.
func TestCheck(t *testing.T) {
	a := netip.MustParseAddr
	local := Local{
		Addrs:   []netip.Addr{a("192.168.77.1"), a("fd77::1"), a("127.0.0.1"), a("10.244.1.1")},
		Subnets: []netip.Prefix{netip.MustParsePrefix("192.168.77.0/24"), netip.MustParsePrefix("fd77::/64"), netip.MustParsePrefix("192.168.99.0/31")},
	}
	listed := func(ep string) []netip.Addr { return []netip.Addr{a(ep), a("192.168.77.9")} }
	for _, tc := range []struct {
		name, ep string
		listed   []netip.Addr
		kind     RouteKind
		want     string // "" accepted
	}{
		{"honest ipv4", "192.168.77.5", listed("192.168.77.5"), Unicast, ""},
		{"honest ipv6", "fd77::5", listed("fd77::5"), Unicast, ""},
		{"honest mapped", "::ffff:192.168.77.5", listed("192.168.77.5"), Unicast, ""},
		{"point-to-point /31 edge is fine", "192.168.99.1", listed("192.168.99.1"), Unicast, ""},
		{"not in status.addresses", "192.168.77.6", listed("192.168.77.5"), Unicast, "not one of the Node's status.addresses"},
		{"no addresses listed", "192.168.77.6", nil, Unicast, "not one of the Node's status.addresses"},
		{"our own address", "192.168.77.1", listed("192.168.77.1"), LocalRoute, "an address of this node"},
		{"our probe address", "10.244.1.1", listed("10.244.1.1"), LocalRoute, "an address of this node"},
		{"subnet broadcast", "192.168.77.255", listed("192.168.77.255"), Broadcast, "broadcast address of this node's subnet"},
		{"subnet network", "192.168.77.0", listed("192.168.77.0"), Broadcast, "network address"},
		{"ipv6 subnet-router anycast", "fd77::", listed("fd77::"), Anycast, "network address"},
		{"limited broadcast", "255.255.255.255", listed("255.255.255.255"), Broadcast, "not a global unicast"},
		{"loopback", "127.0.0.2", listed("127.0.0.2"), LocalRoute, "not a global unicast"},
		{"multicast", "239.1.1.1", listed("239.1.1.1"), Multicast, "not a global unicast"},
		{"link-local", "fe80::1", listed("fe80::1"), Unicast, "not a global unicast"},
		{"unspecified", "0.0.0.0", listed("0.0.0.0"), Unicast, "not a global unicast"},
		{"routed unreachable", "203.0.113.7", listed("203.0.113.7"), Unreachable, "routed as unreachable"},
		{"routed blackhole", "203.0.113.8", listed("203.0.113.8"), Blackhole, "routed as blackhole"},
		{"routed local elsewhere", "203.0.113.9", listed("203.0.113.9"), LocalRoute, "routed as local"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(a(tc.ep), tc.listed, local, tc.kind)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// TestCheckMAC: only the MAC derived from the endpoint passes.
func TestCheckMAC(t *testing.T) {
	a, b := netip.MustParseAddr("192.168.77.5"), netip.MustParseAddr("192.168.77.6")
	if err := CheckMAC(a, overlay.VTEPMAC(a)); err != nil {
		t.Errorf("own MAC refused: %v", err)
	}
	if err := CheckMAC(netip.MustParseAddr("::ffff:192.168.77.5"), overlay.VTEPMAC(a)); err != nil {
		t.Errorf("own MAC, mapped endpoint, refused: %v", err)
	}
	if err := CheckMAC(b, overlay.VTEPMAC(a)); err == nil || !strings.Contains(err.Error(), "not the one derived") {
		t.Errorf("stolen MAC: %v", err)
	}
	if err := CheckMAC(a, nil); err != nil {
		t.Errorf("no MAC (native-only peer): %v", err)
	}
}
