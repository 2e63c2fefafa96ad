package overlay

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TestEnsureVTEPAddr: the device gets the VTEP address as a host address
// (IPv6: nodad, no prefix route), a second Ensure writes no address, and a
// new address replaces the old one without flushing the peer routes and
// neighbours on the device (add before delete).
func TestEnsureVTEPAddr(t *testing.T) {
	for _, tc := range []struct {
		name, local, cidr, addr1, addr2, peerNet, peerVTEP string
	}{
		{"ipv4", "192.0.2.1", "192.0.2.1/24", "10.244.1.0", "10.244.9.0", "10.244.2.0/24", "10.244.2.0"},
		{"ipv6", "2001:db8::1", "2001:db8::1/64", "fd00:244:1::", "fd00:244:9::", "fd00:244:2::/64", "fd00:244:2::"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, up := newNodeNS(t, tc.cidr)
			err := n.Do(func(ns.NetNS) error {
				cfg := Config{LocalIP: netip.MustParseAddr(tc.local), UplinkIndex: up, Addr: netip.MustParseAddr(tc.addr1)}
				d, err := Ensure(nil, cfg)
				if err != nil {
					t.Fatalf("Ensure: %v", err)
				}
				checkOnlyAddr(t, d.Index, cfg.Addr)
				addPeer(t, d.Index, tc.peerNet, tc.peerVTEP)

				updates := make(chan netlink.AddrUpdate, 16)
				done := make(chan struct{})
				if err := netlink.AddrSubscribe(updates, done); err != nil {
					t.Fatal(err)
				}
				// The kernel notifies an IPv6 address again from its DAD
				// work (even nodad), and the fe80:: when it leaves DAD:
				// let those pass before watching the second Ensure.
				for quiet := time.After(500 * time.Millisecond); quiet != nil; {
					select {
					case <-updates:
					case <-quiet:
						quiet = nil
					}
				}
				if _, err := Ensure(nil, cfg); err != nil {
					t.Fatalf("second Ensure: %v", err)
				}
				for quiet := time.After(200 * time.Millisecond); quiet != nil; {
					select {
					case u := <-updates:
						if !u.LinkAddress.IP.IsLinkLocalUnicast() {
							t.Errorf("second Ensure changed an address: %+v", u)
						}
					case <-quiet:
						quiet = nil
					}
				}
				close(done)

				cfg.Addr = netip.MustParseAddr(tc.addr2)
				if _, err := Ensure(nil, cfg); err != nil {
					t.Fatalf("Ensure with a new address: %v", err)
				}
				checkOnlyAddr(t, d.Index, cfg.Addr)
				if rs, _ := netlink.RouteListFiltered(unix.AF_UNSPEC, &netlink.Route{LinkIndex: d.Index, Protocol: 0x4f},
					netlink.RT_FILTER_OIF|netlink.RT_FILTER_PROTOCOL); len(rs) != 1 {
					t.Errorf("peer routes after the address change: %v, want 1", rs)
				}
				if ns, _ := netlink.NeighList(d.Index, unix.AF_UNSPEC); len(ns) == 0 {
					t.Errorf("peer neighbour gone after the address change")
				}
				return TeardownAll(nil)
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// checkOnlyAddr: want is the device's only address of its family besides
// link-local ones, a host address, and IPv6 flags nodad and noprefixroute.
func checkOnlyAddr(t *testing.T, link int, want netip.Addr) {
	t.Helper()
	l, err := netlink.LinkByIndex(link)
	if err != nil {
		t.Fatal(err)
	}
	fam := netlink.FAMILY_V4
	if want.Is6() {
		fam = netlink.FAMILY_V6
	}
	addrs, err := netlink.AddrList(l, fam)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range addrs {
		if a.IP.IsLinkLocalUnicast() {
			continue
		}
		got = append(got, a.IPNet.String())
		if want.Is6() && a.Flags&(unix.IFA_F_NODAD|unix.IFA_F_NOPREFIXROUTE) != unix.IFA_F_NODAD|unix.IFA_F_NOPREFIXROUTE {
			t.Errorf("%s flags %#x, want nodad and noprefixroute", a.IPNet, a.Flags)
		}
	}
	if len(got) != 1 || got[0] != netip.PrefixFrom(want, want.BitLen()).String() {
		t.Errorf("addresses of %s: %v, want only %s/%d", l.Attrs().Name, got, want, want.BitLen())
	}
	rs, err := netlink.RouteListFiltered(unix.AF_UNSPEC, &netlink.Route{LinkIndex: link, Table: unix.RT_TABLE_MAIN},
		netlink.RT_FILTER_OIF|netlink.RT_FILTER_TABLE)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Dst != nil && r.Dst.IP.Equal(want.AsSlice()) {
			t.Errorf("main-table route for the VTEP address: %s", r)
		}
	}
}

// addPeer installs a peer's permanent neighbour and route on the device.
// Equivalent to: ip neigh replace $vtep lladdr 02:.. dev $link nud permanent;
// ip route replace $cidr via $vtep dev $link onlink proto 0x4f
func addPeer(t *testing.T, link int, cidr, vtep string) {
	t.Helper()
	_, dst, _ := net.ParseCIDR(cidr)
	gw := net.ParseIP(vtep)
	if err := netlink.NeighSet(&netlink.Neigh{LinkIndex: link, IP: gw, HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 0, 2},
		State: netlink.NUD_PERMANENT, Type: unix.RTN_UNICAST}); err != nil {
		t.Fatal(err)
	}
	if err := netlink.RouteReplace(&netlink.Route{LinkIndex: link, Dst: dst, Gw: gw, Protocol: 0x4f,
		Flags: int(netlink.FLAG_ONLINK)}); err != nil {
		t.Fatal(err)
	}
}
