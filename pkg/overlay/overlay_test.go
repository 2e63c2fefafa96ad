package overlay

import (
	"errors"
	"net/netip"
	"os"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/vishvananda/netlink"

	"github.com/offload-overlay/offload-overlay/pkg/offload"
)

func TestVTEPMACStable(t *testing.T) {
	a := VTEPMAC(netip.MustParseAddr("192.0.2.1"))
	b := VTEPMAC(netip.MustParseAddr("192.0.2.1"))
	c := VTEPMAC(netip.MustParseAddr("192.0.2.2"))
	if a.String() != b.String() || a.String() == c.String() {
		t.Fatalf("VTEPMAC not stable/distinct: %s %s %s", a, b, c)
	}
	if a[0]&0x01 != 0 || a[0]&0x02 == 0 {
		t.Fatalf("VTEPMAC %s is not locally administered unicast", a)
	}
}

func TestIncompatWords(t *testing.T) {
	base := Config{LocalIP: netip.MustParseAddr("192.0.2.1"), MTU: 1450, Name: "x", Kind: KindVXLAN, VNI: 1, Port: 4789}
	other := base
	other.VNI = 2
	if got := incompat(other.build(), base.build()); got != "vni: 1 vs 2" {
		t.Fatalf("incompat = %q, want %q", got, "vni: 1 vs 2")
	}
	if got := incompat(base.build(), base.build()); got != "" {
		t.Fatalf("identical configs differ: %q", got)
	}
}

// newNodeNS returns a throwaway netns holding a veth uplink with addr.
func newNodeNS(t *testing.T, addrs ...string) (ns.NetNS, int) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	n, err := testutils.NewNS()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(); testutils.UnmountNS(n) })
	var idx int
	err = n.Do(func(ns.NetNS) error {
		v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "oo-dp-up", MTU: 1500}, PeerName: "oo-dp-upp"}
		if err := netlink.LinkAdd(v); err != nil {
			return err
		}
		l, err := netlink.LinkByName("oo-dp-up")
		if err != nil {
			return err
		}
		for _, a := range addrs {
			ad, err := netlink.ParseAddr(a)
			if err != nil {
				return err
			}
			ad.Flags = 0x80 // IFA_F_NODAD
			if err := netlink.AddrAdd(l, ad); err != nil {
				return err
			}
		}
		idx = l.Attrs().Index
		return netlink.LinkSetUp(l)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n, idx
}

func TestEnsureVXLAN(t *testing.T) {
	for _, tc := range []struct {
		name, local, cidr string
		mtu               int
		csum              bool
	}{
		{"ipv4", "192.0.2.1", "192.0.2.1/24", 1450, false},
		{"ipv4 udpcsum", "192.0.2.1", "192.0.2.1/24", 1450, true},
		{"ipv6 udp6zerocsumtx", "2001:db8::1", "2001:db8::1/64", 1430, false},
		{"ipv6 udpcsum", "2001:db8::1", "2001:db8::1/64", 1430, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, up := newNodeNS(t, tc.cidr)
			err := n.Do(func(ns.NetNS) error {
				cfg := Config{LocalIP: netip.MustParseAddr(tc.local), UplinkIndex: up, VNI: 1, UDPCsum: tc.csum}
				d1, err := Ensure(nil, cfg)
				if err != nil {
					t.Fatalf("Ensure: %v", err)
				}
				if d1.MTU != tc.mtu {
					t.Errorf("mtu %d, want %d", d1.MTU, tc.mtu)
				}
				l, err := netlink.LinkByName(d1.Name)
				if err != nil {
					t.Fatal(err)
				}
				v := l.(*netlink.Vxlan)
				if v.Learning || v.VxlanId != 1 || v.Port != 4789 || v.VtepDevIndex != up || v.MTU != tc.mtu {
					t.Errorf("device read back %+v", v)
				}
				if v.SrcAddr.To4() == nil && (v.UDP6ZeroCSumTx == tc.csum || !v.UDP6ZeroCSumRx) {
					t.Errorf("ipv6 checksum flags: zerocsumtx %t zerocsumrx %t, want tx %t rx true", v.UDP6ZeroCSumTx, v.UDP6ZeroCSumRx, !tc.csum)
				}
				if v.SrcAddr.To4() != nil && tc.csum && !v.UDPCSum {
					t.Error("ipv4 udpcsum not set")
				}
				if v.HardwareAddr.String() != VTEPMAC(cfg.LocalIP).String() {
					t.Errorf("mac %s, want %s", v.HardwareAddr, VTEPMAC(cfg.LocalIP))
				}
				// Second Ensure adopts the device untouched.
				d2, err := Ensure(nil, cfg)
				if err != nil || d2.Index != d1.Index {
					t.Errorf("second Ensure recreated or failed: %v, index %d vs %d", err, d2.Index, d1.Index)
				}
				// A different VNI recreates it.
				cfg.VNI = 2
				d3, err := Ensure(nil, cfg)
				if err != nil {
					t.Fatal(err)
				}
				l, _ = netlink.LinkByName(d3.Name)
				if d3.Recreated != "vni: 1 vs 2" {
					t.Errorf("Recreated = %q, want %q", d3.Recreated, "vni: 1 vs 2")
				}
				if l.(*netlink.Vxlan).VxlanId != 2 || d3.Index == d1.Index {
					t.Errorf("VNI change not applied: index %d, vni %d", d3.Index, l.(*netlink.Vxlan).VxlanId)
				}
				if err := TeardownAll(nil); err != nil {
					t.Fatal(err)
				}
				if err := TeardownAll(nil); err != nil {
					t.Fatalf("second teardown: %v", err)
				}
				if _, err := netlink.LinkByName(d3.Name); err == nil {
					t.Errorf("%s still exists after teardown", d3.Name)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestEnsureGeneve(t *testing.T) {
	n, up := newNodeNS(t, "192.0.2.1/24")
	_ = n.Do(func(ns.NetNS) error {
		_, err := Ensure(nil, Config{Kind: KindGeneve, LocalIP: netip.MustParseAddr("192.0.2.1"), UplinkIndex: up})
		if errors.Is(err, offload.ErrKindUnsupported) {
			t.Skip("kernel has no geneve: Unknown device type")
		}
		if err != nil {
			t.Fatal(err)
		}
		return TeardownAll(nil)
	})
}
