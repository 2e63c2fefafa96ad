package masq_test

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/offload-overlay/offload-overlay/internal/testenv/dplab"
	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/masq"
	"github.com/offload-overlay/offload-overlay/pkg/peers"
)

func natRules(t *testing.T, nsName, bin string) string {
	t.Helper()
	out, err := dplab.Exec(nsName, bin, "-t", "nat", "-S")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMasquerade: rules once after two Ensure calls, only in the node's
// namespace; pod egress to a non-cluster address is masqueraded, pod-to-pod
// is not; Cleanup removes chain and jump.
func TestMasquerade(t *testing.T) {
	l := dplab.New(t, dplab.Options{Nodes: 2, PodsPerNode: 1})
	n1, n2 := l.Nodes[0], l.Nodes[1]
	for _, n := range l.Nodes {
		links, err := n.EnsureOverlay(1)
		if err != nil {
			t.Fatal(err)
		}
		h, err := n.Handle()
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		if _, err := peers.New(h, links).Apply(l.PeersOf(n, func(a, b *dplab.Node) decision.Mode { return decision.ModeVXLAN })); err != nil {
			t.Fatal(err)
		}
	}
	cfg := masq.Config{
		PodCIDRs:     []netip.Prefix{n1.PodCIDR4, n1.PodCIDR6},
		ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16"), netip.MustParsePrefix("fd00:244::/32")},
	}
	err := n1.NS.Do(func(ns.NetNS) error {
		if err := masq.Ensure(cfg); err != nil {
			return err
		}
		return masq.Ensure(cfg)
	})
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	for _, bin := range []string{"iptables", "ip6tables"} {
		rules := natRules(t, n1.Name, bin)
		if c := strings.Count(rules, "-j "+masq.Chain); c != 1 {
			t.Errorf("%s: %d jumps to %s, want 1:\n%s", bin, c, masq.Chain, rules)
		}
		if c := strings.Count(rules, "-A "+masq.Chain); c != 2 {
			t.Errorf("%s: %d rules in %s, want 2:\n%s", bin, c, masq.Chain, rules)
		}
		if other := natRules(t, n2.Name, bin); strings.Contains(other, masq.Chain) {
			t.Errorf("%s: rules leaked into another namespace", bin)
		}
	}

	p, q := n1.Pods[0], n2.Pods[0]
	for _, tc := range []struct {
		name      string
		server    ns.NetNS
		dst, want netip.Addr
	}{
		{"ipv4 egress masqueraded", n2.NS, n2.IP4, n1.IP4},
		{"ipv6 egress masqueraded", n2.NS, n2.IP6, n1.IP6},
		{"ipv4 pod-to-pod kept", q.NS, q.IP4, p.IP4},
		{"ipv6 pod-to-pod kept", q.NS, q.IP6, p.IP6},
	} {
		got, err := sourceSeen(tc.server, p, tc.dst)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
		} else if got != tc.want {
			t.Errorf("%s: server saw %s, want %s", tc.name, got, tc.want)
		}
	}

	for i := 0; i < 2; i++ {
		if err := n1.NS.Do(func(ns.NetNS) error { return masq.Cleanup() }); err != nil {
			t.Fatalf("Cleanup #%d: %v", i+1, err)
		}
	}
	for _, bin := range []string{"iptables", "ip6tables"} {
		if rules := natRules(t, n1.Name, bin); strings.Contains(rules, masq.Chain) {
			t.Errorf("%s: left after Cleanup:\n%s", bin, rules)
		}
	}
}

// sourceSeen connects from pod p to dst and returns the source address the
// server (in namespace server) saw.
func sourceSeen(server ns.NetNS, p *dplab.Pod, dst netip.Addr) (netip.Addr, error) {
	var ln net.Listener
	err := server.Do(func(ns.NetNS) error {
		var err error
		ln, err = net.Listen("tcp", netip.AddrPortFrom(dst, 0).String())
		return err
	})
	if err != nil {
		return netip.Addr{}, err
	}
	defer ln.Close()
	seen := make(chan netip.Addr, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			seen <- netip.Addr{}
			return
		}
		seen <- c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr().Unmap()
		c.Close()
	}()
	c, err := p.Dial(dst, ln.Addr().(*net.TCPAddr).Port)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("dial %s: %w", dst, err)
	}
	defer c.Close()
	return <-seen, nil
}

// TestMasqueradeNeedsClusterCIDR: a family without a cluster CIDR gets no
// rules (other nodes' pods could not be told from the internet, and
// pod-to-pod must never be masqueraded); the family that has one does.
func TestMasqueradeNeedsClusterCIDR(t *testing.T) {
	l := dplab.New(t, dplab.Options{Nodes: 1, PodsPerNode: 0})
	n1 := l.Nodes[0]
	cfg := masq.Config{
		PodCIDRs:     []netip.Prefix{n1.PodCIDR4, n1.PodCIDR6},
		ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")},
	}
	if got := masq.MissingClusterCIDR(cfg); len(got) != 1 || got[0] != "IPv6" {
		t.Errorf("MissingClusterCIDR = %v, want [IPv6]", got)
	}
	if err := n1.NS.Do(func(ns.NetNS) error { return masq.Ensure(cfg) }); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	if rules := natRules(t, n1.Name, "iptables"); !strings.Contains(rules, "-A "+masq.Chain+" -s "+n1.PodCIDR4.String()) {
		t.Errorf("iptables: no masquerade of %s:\n%s", n1.PodCIDR4, rules)
	}
	if rules := natRules(t, n1.Name, "ip6tables"); strings.Contains(rules, masq.Chain) {
		t.Errorf("ip6tables: rules without an IPv6 cluster CIDR:\n%s", rules)
	}
	if err := n1.NS.Do(func(ns.NetNS) error { return masq.Cleanup() }); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
}
