package firewall_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/offload-overlay/offload-overlay/pkg/firewall"
)

// netnsLab: node A (the peer, with a second "stranger" address and a pod
// behind it) and node B (the receiver), one veth between them.
//
//	pod 10.244.1.10 --- A 192.168.90.1 (+ .3 stranger), fd00:90::1 (+ ::3)
//	                    A ---- B 192.168.90.2, fd00:90::2
type netnsLab struct {
	a, b, pod ns.NetNS
	names     []string
}

func run(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
}

func newLab(t *testing.T) *netnsLab {
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, nftables)")
	}
	rnd := make([]byte, 3)
	_, _ = rand.Read(rnd)
	pfx := "oo-h-fw-" + hex.EncodeToString(rnd) + "-"
	l := &netnsLab{}
	for _, n := range []string{"a", "b", "pod"} {
		run(t, "ip", "netns", "add", pfx+n)
		l.names = append(l.names, pfx+n)
		name := pfx + n
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	}
	a, b, pod := l.names[0], l.names[1], l.names[2]
	for _, c := range [][]string{
		{"ip", "-n", a, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", b},
		{"ip", "-n", a, "link", "add", "vpod", "type", "veth", "peer", "name", "eth0", "netns", pod},
		{"ip", "-n", a, "addr", "add", "192.168.90.1/24", "dev", "eth0"},
		{"ip", "-n", a, "addr", "add", "192.168.90.3/24", "dev", "eth0"},
		{"ip", "-n", a, "addr", "add", "fd00:90::1/64", "dev", "eth0", "nodad"},
		{"ip", "-n", a, "addr", "add", "fd00:90::3/64", "dev", "eth0", "nodad"},
		{"ip", "-n", b, "addr", "add", "192.168.90.2/24", "dev", "eth0"},
		{"ip", "-n", b, "addr", "add", "fd00:90::2/64", "dev", "eth0", "nodad"},
		{"ip", "-n", pod, "addr", "add", "10.244.1.10/32", "dev", "eth0"},
		{"ip", "-n", a, "link", "set", "eth0", "up"}, {"ip", "-n", a, "link", "set", "vpod", "up"},
		{"ip", "-n", b, "link", "set", "eth0", "up"}, {"ip", "-n", pod, "link", "set", "eth0", "up"},
		{"ip", "-n", pod, "link", "set", "lo", "up"},
		{"ip", "-n", a, "addr", "add", "169.254.1.1/32", "dev", "vpod"},
		{"ip", "-n", a, "route", "add", "10.244.1.10/32", "dev", "vpod"},
		{"ip", "-n", pod, "route", "add", "169.254.1.1/32", "dev", "eth0"},
		{"ip", "-n", pod, "route", "add", "default", "via", "169.254.1.1", "dev", "eth0"},
		{"ip", "-n", b, "route", "add", "10.244.1.0/24", "via", "192.168.90.1"},
		{"ip", "-n", a, "route", "add", "10.244.2.0/24", "via", "192.168.90.2"},
		{"ip", "netns", "exec", a, "sysctl", "-qw", "net.ipv4.ip_forward=1"},
	} {
		run(t, c...)
	}
	var err error
	for i, p := range []*ns.NetNS{&l.a, &l.b, &l.pod} {
		if *p, err = ns.GetNS("/var/run/netns/" + l.names[i]); err != nil {
			t.Fatal(err)
		}
		n := *p
		t.Cleanup(func() { n.Close() })
	}
	return l
}

// listen opens a UDP socket on port in n (wildcard address, like a VXLAN
// device's socket); network is "udp4" or "udp6".
func listen(t *testing.T, n ns.NetNS, network string, port int) *net.UDPConn {
	t.Helper()
	var c *net.UDPConn
	err := n.Do(func(ns.NetNS) error {
		var err error
		c, err = net.ListenUDP(network, &net.UDPAddr{Port: port})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// send sends payload from src (unspecified: the route's choice) in n.
func send(t *testing.T, n ns.NetNS, src, dst netip.Addr, port int, payload string) {
	t.Helper()
	err := n.Do(func(ns.NetNS) error {
		var laddr *net.UDPAddr
		if src.IsValid() {
			laddr = &net.UDPAddr{IP: src.AsSlice()}
		}
		c, err := net.DialUDP("udp", laddr, &net.UDPAddr{IP: dst.AsSlice(), Port: port})
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write([]byte(payload))
		return err
	})
	if err != nil {
		t.Fatalf("sending %q from %v to %v:%d: %v", payload, src, dst, port, err)
	}
}

// recv returns the next datagram's payload. The deadline only bounds a
// failing test; passing tests never wait for it.
func recv(t *testing.T, c *net.UDPConn) string {
	t.Helper()
	buf := make([]byte, 1500)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _, err := c.ReadFromUDP(buf)
	if err != nil {
		return "nothing (" + err.Error() + ")"
	}
	return string(bytes.TrimSpace(buf[:n]))
}

func counts(t *testing.T, n ns.NetNS) firewall.Counts {
	t.Helper()
	var c firewall.Counts
	err := n.Do(func(ns.NetNS) error {
		var err error
		c, err = firewall.ReadCounts()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ensure(t *testing.T, n ns.NetNS, cfg firewall.Config) {
	t.Helper()
	if err := n.Do(func(ns.NetNS) error { return firewall.Ensure(cfg) }); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
}

var (
	peerA4, strangerA4, nodeB4 = netip.MustParseAddr("192.168.90.1"), netip.MustParseAddr("192.168.90.3"), netip.MustParseAddr("192.168.90.2")
	peerA6, strangerA6, nodeB6 = netip.MustParseAddr("fd00:90::1"), netip.MustParseAddr("fd00:90::3"), netip.MustParseAddr("fd00:90::2")
)

const vxlanPort = 4789

// TestStrangersDropped: on B, a datagram to the VXLAN port from a peer's
// endpoint arrives, one from any other address of the same host does not
// and is counted; both families. Ensure twice is idempotent and keeps the
// counters; a peer removed from the set is dropped from then on.
func TestStrangersDropped(t *testing.T) {
	l := newLab(t)
	cfg := firewall.Config{Port: vxlanPort, Peers: []netip.Addr{peerA4, peerA6}}
	ensure(t, l.b, cfg)
	sock4, sock6 := listen(t, l.b, "udp4", vxlanPort), listen(t, l.b, "udp6", vxlanPort)
	for i, tc := range []struct {
		peer, stranger, dst netip.Addr
		sock                *net.UDPConn
	}{{peerA4, strangerA4, nodeB4, sock4}, {peerA6, strangerA6, nodeB6, sock6}} {
		send(t, l.a, tc.stranger, tc.dst, vxlanPort, "stranger")
		waitCount(t, l.b, func(c firewall.Counts) bool { return c.Strangers >= uint64(i+1) })
		send(t, l.a, tc.peer, tc.dst, vxlanPort, "peer")
		if got := recv(t, tc.sock); got != "peer" {
			t.Fatalf("%v: first datagram on B's VXLAN port is %q, want the peer's", tc.dst, got)
		}
	}
	ensure(t, l.b, cfg)
	if c := counts(t, l.b); c.Strangers != 2 {
		t.Errorf("after a second Ensure: %d strangers counted, want 2 (counters kept)", c.Strangers)
	}
	// Another port is not ours to filter.
	other := listen(t, l.b, "udp4", 5000)
	send(t, l.a, strangerA4, nodeB4, 5000, "other port")
	if got := recv(t, other); got != "other port" {
		t.Fatalf("port 5000 got %q", got)
	}
	// A large set (more elements than fit one netlink message) still holds
	// every peer (the real ones sort last).
	var many []netip.Addr
	for i := range 5000 {
		many = append(many, netip.AddrFrom16([16]byte{0xfc, 0, 0x99, 15: byte(i), 14: byte(i >> 8)}))
	}
	ensure(t, l.b, firewall.Config{Port: vxlanPort, Peers: append(many, peerA4, peerA6)})
	send(t, l.a, peerA6, nodeB6, vxlanPort, "peer6 among 5002")
	if got := recv(t, sock6); got != "peer6 among 5002" {
		t.Fatalf("with 5002 peers: got %q", got)
	}
	// Peer A leaves: its datagrams are strangers now.
	ensure(t, l.b, firewall.Config{Port: vxlanPort, Peers: []netip.Addr{peerA6}})
	send(t, l.a, peerA4, nodeB4, vxlanPort, "former peer")
	waitCount(t, l.b, func(c firewall.Counts) bool { return c.Strangers >= 3 })
	send(t, l.a, peerA6, nodeB6, vxlanPort, "peer6")
	if got := recv(t, sock6); got != "peer6" {
		t.Fatalf("after removing peer A4: got %q, want peer6", got)
	}
	if err := l.b.Do(func(ns.NetNS) error {
		if err := firewall.Cleanup(); err != nil {
			return err
		}
		return firewall.Cleanup()
	}); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	send(t, l.a, strangerA4, nodeB4, vxlanPort, "after cleanup")
	if got := recv(t, sock4); got != "after cleanup" {
		t.Fatalf("after Cleanup: got %q", got)
	}
}

// TestPodVXLANDropped: on A, a pod's datagram to B's VXLAN port is
// dropped on forward (B's peer check would pass it once OO-MASQ rewrote
// the source to A's address) and counted; the pod's datagram to another
// port of B, and a pod's datagram to a pod address on the VXLAN port,
// are forwarded.
func TestPodVXLANDropped(t *testing.T) {
	l := newLab(t)
	ensure(t, l.a, firewall.Config{Port: vxlanPort, Peers: []netip.Addr{nodeB4},
		LocalPodCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.1.0/24")},
		PodCIDRs:      []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")}})
	run(t, "ip", "-n", l.names[1], "addr", "add", "10.244.2.10/32", "dev", "lo")
	run(t, "ip", "-n", l.names[1], "link", "set", "lo", "up")
	vx := listen(t, l.b, "udp4", vxlanPort)
	other := listen(t, l.b, "udp4", 5000)
	send(t, l.pod, netip.Addr{}, nodeB4, vxlanPort, "pod to node vxlan")
	waitCount(t, l.a, func(c firewall.Counts) bool { return c.Pods >= 1 })
	send(t, l.pod, netip.Addr{}, nodeB4, 5000, "pod to node 5000")
	if got := recv(t, other); got != "pod to node 5000" {
		t.Fatalf("port 5000 got %q", got)
	}
	send(t, l.pod, netip.Addr{}, netip.MustParseAddr("10.244.2.10"), vxlanPort, "pod to pod")
	if got := recv(t, vx); got != "pod to pod" {
		t.Fatalf("first datagram on B's VXLAN port is %q, want the pod-to-pod one", got)
	}
	if c := counts(t, l.a); c.Pods != 1 || c.Strangers != 0 {
		t.Errorf("counts on A = %+v, want 1 pod drop", c)
	}
}

// waitCount polls the counters until ok; a datagram's trip through the
// veth is asynchronous to the sender's write.
func waitCount(t *testing.T, n ns.NetNS, ok func(firewall.Counts) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c := counts(t, n)
		if ok(c) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("drop not counted: %+v", c)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
