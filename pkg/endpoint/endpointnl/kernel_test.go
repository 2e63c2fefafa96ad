package endpointnl

import (
	"crypto/rand"
	"encoding/hex"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/offload-overlay/offload-overlay/pkg/endpoint"
)

// TestRouteKinds: the kernel's own verdicts, read in a throwaway netns
// with a veth on 192.168.78.0/24 and unreachable, blackhole and prohibit
// routes; and ReadLocal finds the addresses and subnets.
func TestRouteKinds(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	rnd := make([]byte, 3)
	_, _ = rand.Read(rnd)
	name := "oo-h-ep-" + hex.EncodeToString(rnd)
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", append([]string{"-n", name}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	run("link", "add", "up0", "type", "veth", "peer", "name", "up1")
	run("addr", "add", "192.168.78.1/24", "dev", "up0")
	run("addr", "add", "fd78::1/64", "dev", "up0", "nodad")
	run("link", "set", "up0", "up")
	run("link", "set", "up1", "up")
	run("link", "set", "lo", "up")
	run("route", "add", "unreachable", "203.0.113.0/26")
	run("route", "add", "blackhole", "203.0.113.64/26")
	run("route", "add", "prohibit", "203.0.113.128/26")
	run("route", "add", "198.51.100.0/24", "via", "192.168.78.2")
	nsh, err := netns.GetFromName(name)
	if err != nil {
		t.Fatal(err)
	}
	defer nsh.Close()
	h, err := netlink.NewHandleAt(nsh)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for ep, want := range map[string]endpoint.RouteKind{
		"192.168.78.5": endpoint.Unicast, "198.51.100.7": endpoint.Unicast, "fd78::5": endpoint.Unicast,
		"192.168.78.1": endpoint.LocalRoute, "fd78::1": endpoint.LocalRoute, "192.168.78.255": endpoint.Broadcast,
		"203.0.113.7": endpoint.Unreachable, "203.0.113.70": endpoint.Blackhole, "203.0.113.130": endpoint.Prohibit,
		"8.8.8.8": endpoint.Unreachable, // no default route
	} {
		got, err := Route(h, netip.MustParseAddr(ep))
		if err != nil || got != want {
			t.Errorf("Route(%s) = %q, %v; want %q", ep, got, err, want)
		}
	}
	l, err := ReadLocal(h)
	if err != nil {
		t.Fatal(err)
	}
	if err := endpoint.Check(netip.MustParseAddr("192.168.78.255"), []netip.Addr{netip.MustParseAddr("192.168.78.255")}, l, endpoint.Broadcast); err == nil ||
		!strings.Contains(err.Error(), "broadcast address of this node's subnet 192.168.78.0/24") {
		t.Errorf("broadcast from the kernel's view: %v", err)
	}
	if err := endpoint.Check(netip.MustParseAddr("fd78::1"), []netip.Addr{netip.MustParseAddr("fd78::1")}, l, endpoint.LocalRoute); err == nil ||
		!strings.Contains(err.Error(), "address of this node") {
		t.Errorf("own ipv6 from the kernel's view: %v", err)
	}
}
