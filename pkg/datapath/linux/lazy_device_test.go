package linux_test

import (
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/offload-overlay/offload-overlay/pkg/datapath"
	"github.com/offload-overlay/offload-overlay/pkg/datapath/linux"
	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/overlay"
)

// TestTunnelDeviceIsLazy: a node with only native peers has no oo-vxlan4
// (the README's promise); the first VXLAN path of a family creates that
// family's device with the VTEP MAC EnsureNode already returned; a fresh
// Kernel (a restarted agent) adopts it; Cleanup removes it.
func TestTunnelDeviceIsLazy(t *testing.T) {
	needRoot(t)
	a, nsA := addNetns(t, "lz")
	r, _ := addNetns(t, "lr")
	run(t, "ip", "-n", a, "link", "add", "a0", "type", "veth", "peer", "name", "r0", "netns", r)
	run(t, "ip", "-n", a, "addr", "add", "192.168.77.1/24", "dev", "a0")
	run(t, "ip", "-n", a, "link", "set", "a0", "up")
	h, err := netlink.NewHandleAt(netns.NsHandle(nsA.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	up, err := h.LinkByName("a0")
	h.Close()
	if err != nil {
		t.Fatal(err)
	}
	uplink := datapath.Uplink{Name: "a0", Index: up.Attrs().Index, MTU: up.Attrs().MTU}
	local := datapath.LocalNode{Name: "a", IPs: []netip.Addr{netip.MustParseAddr("192.168.77.1")},
		PodCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.1.0/24")}}
	k, err := linux.New(linux.Config{NetNS: nsA, VNI: 1, Port: 4789})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k.Cleanup(local.PodCIDRs) })
	setup, err := k.EnsureNode(local, uplink)
	if err != nil {
		t.Fatalf("EnsureNode: %v", err)
	}
	if want := overlay.VTEPMAC(local.IPs[0]); setup.VTEPMACs[0].String() != want.String() {
		t.Errorf("VTEP MAC %s, want %s", setup.VTEPMACs[0], want)
	}
	hasDevice := func() bool { return strings.Contains(output("ip", "-n", a, "link", "show"), "oo-vxlan4") }
	if hasDevice() {
		t.Fatal("oo-vxlan4 exists before any VXLAN path")
	}
	native := datapath.Path{Peer: "b", Family: 4, PodCIDR: netip.MustParsePrefix("10.244.2.0/24"),
		PeerIP: netip.MustParseAddr("192.168.77.2"), Mode: decision.ModeNative, DevIndex: uplink.Index, OnLink: true}
	if err := k.ResyncPaths([]datapath.Path{native}); err != nil {
		t.Fatalf("native resync: %v", err)
	}
	if hasDevice() {
		t.Fatal("oo-vxlan4 created for a native path")
	}
	vx := datapath.Path{Peer: "c", Family: 4, PodCIDR: netip.MustParsePrefix("10.244.3.0/24"),
		PeerIP: netip.MustParseAddr("192.168.78.3"), PeerMAC: net.HardwareAddr{0x02, 0, 0, 0, 0, 0x0c}, Mode: decision.ModeVXLAN}
	if err := k.ApplyPaths([]datapath.Path{vx}, nil); err != nil {
		t.Fatalf("first VXLAN path: %v", err)
	}
	link := output("ip", "-n", a, "link", "show", "oo-vxlan4")
	if !strings.Contains(link, setup.VTEPMACs[0].String()) {
		t.Fatalf("oo-vxlan4 missing or with another MAC than published (%s):\n%s", setup.VTEPMACs[0], link)
	}
	if got := output("ip", "-n", a, "route", "show", "10.244.3.0/24"); !strings.Contains(got, "oo-vxlan4") {
		t.Errorf("VXLAN path not routed via oo-vxlan4: %q", got)
	}
	k2, err := linux.New(linux.Config{NetNS: nsA, VNI: 1, Port: 4789})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k2.EnsureNode(local, uplink); err != nil {
		t.Fatalf("restart EnsureNode: %v", err)
	}
	run(t, "ip", "-n", a, "link", "del", "oo-vxlan4")
	if err := k2.ResyncPaths([]datapath.Path{native}); err != nil {
		t.Fatalf("restart resync: %v", err)
	}
	if !hasDevice() {
		t.Error("a restarted kernel did not keep (repair) the adopted oo-vxlan4")
	}
	if err := k2.Cleanup(local.PodCIDRs); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	if hasDevice() {
		t.Error("oo-vxlan4 left after Cleanup")
	}
}
