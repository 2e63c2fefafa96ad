package linux_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/offload-overlay/offload-overlay/pkg/datapath"
	"github.com/offload-overlay/offload-overlay/pkg/datapath/linux"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// A probe route (proto 0x50) left by an agent killed mid-probe is removed
// when a new agent sets the node up, before its own probes start; other
// routes to the same kind of destination stay.
func TestEnsureNodeRemovesStaleProbeRoutes(t *testing.T) {
	needRoot(t)
	a, nsA := addNetns(t, "sp")
	r, _ := addNetns(t, "sr")
	run(t, "ip", "-n", a, "link", "add", "a0", "type", "veth", "peer", "name", "r0", "netns", r)
	for _, cmd := range [][]string{
		{a, "addr", "add", "192.168.77.1/24", "dev", "a0"}, {a, "addr", "add", "fd77::1/64", "dev", "a0", "nodad"},
		{a, "link", "set", "a0", "up"},
		{a, "route", "add", "10.244.3.1/32", "via", "192.168.77.2", "proto", "0x50"},
		{a, "-6", "route", "add", "fd00:10:244:3::1/128", "via", "fd77::2", "proto", "0x50"},
		{a, "route", "add", "10.9.9.9/32", "via", "192.168.77.2"},
	} {
		run(t, append([]string{"ip", "-n"}, cmd...)...)
	}
	h, err := netlink.NewHandleAt(netns.NsHandle(nsA.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	up, err := h.LinkByName("a0")
	h.Close()
	if err != nil {
		t.Fatal(err)
	}
	k, err := linux.New(linux.Config{NetNS: nsA, VNI: 1, Port: 4789})
	if err != nil {
		t.Fatal(err)
	}
	local := datapath.LocalNode{Name: "a", IPs: []netip.Addr{netip.MustParseAddr("192.168.77.1"), netip.MustParseAddr("fd77::1")},
		PodCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.1.0/24"), netip.MustParsePrefix("fd00:10:244:1::/64")}}
	if _, err := k.EnsureNode(local, datapath.Uplink{Name: "a0", Index: up.Attrs().Index, MTU: up.Attrs().MTU}); err != nil {
		t.Fatalf("EnsureNode: %v", err)
	}
	t.Cleanup(func() { _ = k.Cleanup(local.PodCIDRs) })
	for _, fam := range []string{"-4", "-6"} {
		if got := run(t, "ip", fam, "-n", a, "route", "show", "proto", "0x50"); strings.TrimSpace(got) != "" {
			t.Errorf("stale probe routes (%s) after EnsureNode:\n%s", fam, got)
		}
	}
	if got := run(t, "ip", "-n", a, "route", "show", "10.9.9.9/32"); !strings.Contains(got, "10.9.9.9") {
		t.Errorf("an unrelated route was removed")
	}
}
