package linux_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/offload-overlay/offload-overlay/pkg/datapath/linux"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// TestNativeProbe drives the kernel side's probe directly, IPv4 and IPv6:
// node A reaches node C's probe address through router R only once R routes
// the pod CIDRs; the temporary probe route is gone afterwards either way.
//
//	A (a0 .77.1, fd77::1) -- R (.77.2 | .88.2, fd77::2 | fd88::2) -- C (c0 .88.3, fd88::3)
//	probe addresses: A 10.244.1.1, fd00:10:244:1::1; C 10.244.3.1, fd00:10:244:3::1
func TestNativeProbe(t *testing.T) {
	needRoot(t)
	a, nsA := addNetns(t, "pa")
	r, _ := addNetns(t, "pr")
	c, _ := addNetns(t, "pc")
	run(t, "ip", "-n", a, "link", "add", "a0", "type", "veth", "peer", "name", "r0", "netns", r)
	run(t, "ip", "-n", r, "link", "add", "r1", "type", "veth", "peer", "name", "c0", "netns", c)
	for _, cmd := range [][]string{
		{a, "addr", "add", "192.168.77.1/24", "dev", "a0"}, {a, "addr", "add", "fd77::1/64", "dev", "a0", "nodad"},
		{a, "link", "set", "a0", "up"},
		{a, "addr", "add", "10.244.1.1/32", "dev", "lo"}, {a, "addr", "add", "fd00:10:244:1::1/128", "dev", "lo", "nodad"},
		{r, "addr", "add", "192.168.77.2/24", "dev", "r0"}, {r, "addr", "add", "fd77::2/64", "dev", "r0", "nodad"},
		{r, "addr", "add", "192.168.88.2/24", "dev", "r1"}, {r, "addr", "add", "fd88::2/64", "dev", "r1", "nodad"},
		{r, "link", "set", "r0", "up"}, {r, "link", "set", "r1", "up"},
		{c, "addr", "add", "192.168.88.3/24", "dev", "c0"}, {c, "addr", "add", "fd88::3/64", "dev", "c0", "nodad"},
		{c, "link", "set", "c0", "up"},
		{c, "route", "add", "default", "via", "192.168.88.2"}, {c, "-6", "route", "add", "default", "via", "fd88::2"},
		{c, "addr", "add", "10.244.3.1/32", "dev", "lo"}, {c, "addr", "add", "fd00:10:244:3::1/128", "dev", "lo", "nodad"},
	} {
		run(t, append([]string{"ip", "-n"}, cmd...)...)
	}
	run(t, "ip", "netns", "exec", r, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")
	k, err := linux.New(linux.Config{NetNS: nsA})
	if err != nil {
		t.Fatal(err)
	}
	h, err := netlink.NewHandleAt(netns.NsHandle(nsA.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	uplink, err := h.LinkByName("a0")
	if err != nil {
		t.Fatal(err)
	}
	families := []struct {
		name          string
		src, dst, gw  netip.Addr
		podA, podC    string
		viaA, viaC    string
		routeFamilyIP string
	}{
		{"IPv4", netip.MustParseAddr("10.244.1.1"), netip.MustParseAddr("10.244.3.1"), netip.MustParseAddr("192.168.77.2"),
			"10.244.1.0/24", "10.244.3.0/24", "192.168.77.1", "192.168.88.3", "-4"},
		{"IPv6", netip.MustParseAddr("fd00:10:244:1::1"), netip.MustParseAddr("fd00:10:244:3::1"), netip.MustParseAddr("fd77::2"),
			"fd00:10:244:1::/64", "fd00:10:244:3::/64", "fd77::1", "fd88::3", "-6"},
	}
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			probe := func() error {
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				defer cancel()
				return k.ProbeNative(ctx, f.src, f.dst, f.gw, uplink.Attrs().Index)
			}
			if err := probe(); err == nil {
				t.Fatal("probe succeeded although the underlay does not route pod CIDRs")
			}
			run(t, "ip", f.routeFamilyIP, "-n", r, "route", "replace", f.podA, "via", f.viaA)
			run(t, "ip", f.routeFamilyIP, "-n", r, "route", "replace", f.podC, "via", f.viaC)
			if err := probe(); err != nil {
				t.Fatalf("probe failed although the underlay routes pod CIDRs: %v", err)
			}
			if rs := output("ip", f.routeFamilyIP, "-n", a, "route", "show", "proto", "0x50"); rs != "" {
				t.Errorf("probe route left behind: %s", rs)
			}
		})
	}
}
