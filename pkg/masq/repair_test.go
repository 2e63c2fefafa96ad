package masq_test

import (
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/offload-overlay/offload-overlay/internal/testenv/dplab"
	"github.com/offload-overlay/offload-overlay/pkg/masq"
)

// TestMasqueradeRepaired: Ensure puts back what a firewall reload or an
// operator removed (the whole nat table flushed, our chain flushed, a
// foreign rule added to it), and a rebuild never exposes a partial chain:
// a concurrent reader sees, every time, the RETURN and the MASQUERADE
// rules together while Ensure alternates between two configurations.
func TestMasqueradeRepaired(t *testing.T) {
	l := dplab.New(t, dplab.Options{Nodes: 1, PodsPerNode: 0, Prefix: "oo-h-mq-"})
	n := l.Nodes[0]
	cfgA := masq.Config{PodCIDRs: []netip.Prefix{n.PodCIDR4}, ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")}}
	cfgB := masq.Config{PodCIDRs: []netip.Prefix{n.PodCIDR4}, ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.240.0.0/12")}}
	ensure := func(c masq.Config) {
		t.Helper()
		if err := n.NS.Do(func(ns.NetNS) error { return masq.Ensure(c) }); err != nil {
			t.Fatalf("Ensure: %v", err)
		}
	}
	complete := func(rules string) bool {
		return strings.Contains(rules, "-j RETURN") && strings.Contains(rules, "-j MASQUERADE") &&
			strings.Contains(rules, "-j "+masq.Chain)
	}
	ensure(cfgA)
	for _, damage := range [][]string{
		{"iptables", "-t", "nat", "-F"},
		{"iptables", "-t", "nat", "-F", masq.Chain},
		{"iptables", "-t", "nat", "-A", masq.Chain, "-s", "10.9.9.9/32", "-j", "ACCEPT"},
	} {
		if _, err := dplab.Exec(n.Name, damage...); err != nil {
			t.Fatal(err)
		}
		ensure(cfgA)
		rules := natRules(t, n.Name, "iptables")
		if !complete(rules) || strings.Contains(rules, "10.9.9.9") || strings.Count(rules, "-A "+masq.Chain) != 2 {
			t.Fatalf("after %v and Ensure:\n%s", damage, rules)
		}
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var partial []string
	reads := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			out, err := dplab.Exec(n.Name, "iptables", "-t", "nat", "-S")
			if err != nil {
				continue
			}
			reads++
			if !complete(out) {
				partial = append(partial, out)
			}
		}
	}()
	for i := range 20 {
		ensure(map[bool]masq.Config{false: cfgA, true: cfgB}[i%2 == 1])
	}
	close(stop)
	wg.Wait()
	if len(partial) > 0 {
		t.Fatalf("%d of %d reads saw a partial masquerade chain, e.g.:\n%s", len(partial), reads, partial[0])
	}
	t.Logf("%d concurrent reads, all complete", reads)
}
