package nativeprobe

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

func run(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// pair builds namespaces a (prober) and b (peer) joined by a veth.
func pair(t *testing.T) (a, b ns.NetNS, bName string) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	rnd := make([]byte, 3)
	_, _ = rand.Read(rnd)
	pfx := "oo-h-np-" + hex.EncodeToString(rnd)
	an, bn := pfx+"a", pfx+"b"
	for _, n := range []string{an, bn} {
		run(t, "ip", "netns", "add", n)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", n).Run() })
	}
	run(t, "ip", "-n", an, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", bn)
	for _, c := range [][]string{
		{an, "addr", "add", "192.168.91.1/24", "dev", "eth0"}, {an, "addr", "add", "fd91::1/64", "dev", "eth0", "nodad"},
		{bn, "addr", "add", "192.168.91.2/24", "dev", "eth0"}, {bn, "addr", "add", "fd91::2/64", "dev", "eth0", "nodad"},
		{an, "link", "set", "eth0", "up"}, {bn, "link", "set", "eth0", "up"},
	} {
		run(t, append([]string{"ip", "-n"}, c...)...)
	}
	var err error
	if a, err = ns.GetNS("/var/run/netns/" + an); err != nil {
		t.Fatal(err)
	}
	if b, err = ns.GetNS("/var/run/netns/" + bn); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b, bn
}

// spoof answers every echo request b receives with a reply carrying the
// request's identifier and sequence (as if guessed) but not its payload:
// an off-path attacker who cannot see the nonce.
func spoof(t *testing.T, b ns.NetNS, v6 bool) {
	t.Helper()
	network, proto, reply := "ip4:icmp", 1, icmp.Type(ipv4.ICMPTypeEchoReply)
	if v6 {
		network, proto, reply = "ip6:ipv6-icmp", 58, ipv6.ICMPTypeEchoReply
	}
	var c *icmp.PacketConn
	if err := b.Do(func(ns.NetNS) error {
		var err error
		c, err = icmp.ListenPacket(network, "")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			m, err := icmp.ParseMessage(proto, buf[:n])
			if err != nil {
				continue
			}
			e, ok := m.Body.(*icmp.Echo)
			if !ok || m.Type == reply {
				continue
			}
			out, _ := (&icmp.Message{Type: reply, Body: &icmp.Echo{ID: e.ID, Seq: e.Seq, Data: []byte("offload-overlay probe")}}).Marshal(nil)
			_, _ = c.WriteTo(out, from)
		}
	}()
}

// TestSpoofedReplyRejected: with the peer's own echo responder off, replies
// that match identifier and sequence but not the nonce do not make the
// probe succeed; with the responder on, the genuine reply does. Both
// families.
func TestSpoofedReplyRejected(t *testing.T) {
	for _, tc := range []struct {
		name     string
		v6       bool
		src, dst netip.Addr
		sysctl   string
	}{
		{"ipv4", false, netip.MustParseAddr("192.168.91.1"), netip.MustParseAddr("192.168.91.2"), "net.ipv4.icmp_echo_ignore_all"},
		{"ipv6", true, netip.MustParseAddr("fd91::1"), netip.MustParseAddr("fd91::2"), "net.ipv6.icmp.echo_ignore_all"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b, bName := pair(t)
			run(t, "ip", "netns", "exec", bName, "sysctl", "-qw", tc.sysctl+"=1")
			spoof(t, b, tc.v6)
			probe := func() error {
				return a.Do(func(ns.NetNS) error { return Echo(context.Background(), tc.src, tc.dst) })
			}
			if err := probe(); !errors.Is(err, ErrNoReply) {
				t.Fatalf("with only spoofed replies: %v, want ErrNoReply", err)
			}
			run(t, "ip", "netns", "exec", bName, "sysctl", "-qw", tc.sysctl+"=0")
			if err := probe(); err != nil {
				t.Fatalf("with the genuine responder: %v", err)
			}
		})
	}
}
