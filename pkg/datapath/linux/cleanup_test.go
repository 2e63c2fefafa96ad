package linux_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/offload-overlay/offload-overlay/internal/testenv/dplab"
	"github.com/offload-overlay/offload-overlay/pkg/datapath/linux"
	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/masq"
	"github.com/offload-overlay/offload-overlay/pkg/peers"
)

// TestCleanupRemovesEverything: after converging peers and masquerade,
// Cleanup (twice) leaves no route, device, FDB, neighbour or chain of ours.
func TestCleanupRemovesEverything(t *testing.T) {
	l := dplab.New(t, dplab.Options{Nodes: 3})
	n := l.Nodes[0]
	links, err := n.EnsureOverlay(1)
	if err != nil {
		t.Fatal(err)
	}
	h, err := n.Handle()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	mode := func(a, b *dplab.Node) decision.Mode {
		if b.Index == 2 {
			return decision.ModeVXLAN
		}
		return decision.ModeNative
	}
	if _, err := peers.New(h, links).Apply(l.PeersOf(n, mode)); err != nil {
		t.Fatal(err)
	}
	err = n.NS.Do(func(ns.NetNS) error {
		if err := masq.Ensure(masq.Config{PodCIDRs: []netip.Prefix{n.PodCIDR4, n.PodCIDR6}}); err != nil {
			return err
		}
		if err := linux.Cleanup(); err != nil {
			return err
		}
		return linux.Cleanup()
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := dplab.Exec(n.Name, "sh", "-c", `ip route show proto 0x4f table all
ip -6 route show proto 0x4f table all
ip -o link show | grep -o 'oo-[a-z]*[46]'
iptables -t nat -S | grep OO-MASQ
ip6tables -t nat -S | grep OO-MASQ
true`)
	if err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("left after Cleanup: %q %v", out, err)
	}
}
