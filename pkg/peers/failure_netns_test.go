package peers_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/offload-overlay/offload-overlay/internal/testenv/dplab"
	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/peers"
)

// TestOneBadPeerFailsAlone: a peer whose endpoint the kernel refuses (its
// node IP is one of this node's own addresses, or the subnet's broadcast
// address: "Nexthop has invalid gateway") fails alone. The good peer is
// programmed and reachable, the error names the bad peer and nothing
// else, Report.Failed lists it, and it leaves Failed once it is gone.
func TestOneBadPeerFailsAlone(t *testing.T) {
	l := dplab.New(t, dplab.Options{Nodes: 2, PodsPerNode: 1, Prefix: "oo-h-pf-"})
	nodes := setup(t, l)
	n1, n2 := nodes[0], nodes[1]
	vx := func(a, b *dplab.Node) decision.Mode { return decision.ModeVXLAN }
	bad := []peers.Peer{
		{Name: "claims-my-ip", Mode: decision.ModeNative, PodCIDRs: []netip.Prefix{netip.MustParsePrefix("10.250.1.0/24")},
			Endpoints: []peers.Endpoint{{NodeIP: n1.IP4}}},
		{Name: "claims-broadcast", Mode: decision.ModeNative, PodCIDRs: []netip.Prefix{netip.MustParsePrefix("10.250.2.0/24")},
			Endpoints: []peers.Endpoint{{NodeIP: netip.MustParseAddr("192.168.77.255")}}},
	}
	rep, err := n1.conv.Apply(append(l.PeersOf(n1.Node, vx), bad...))
	failed, rest := peers.SplitErrors(err)
	if rest != nil || len(failed) != 2 || failed["claims-my-ip"] == nil || failed["claims-broadcast"] == nil {
		t.Fatalf("Apply error: peers %v, rest %v; want only the two bad peers", failed, rest)
	}
	if len(rep.Failed) != 2 || !strings.Contains(rep.Failed["claims-my-ip"], "invalid") {
		t.Errorf("Report.Failed = %v", rep.Failed)
	}
	if _, err := n2.conv.Apply(l.PeersOf(n2.Node, vx)); err != nil {
		t.Fatal(err)
	}
	p, q := n1.Pods[0], n2.Pods[0]
	for _, dst := range []netip.Addr{q.IP4, q.IP6} {
		if err := p.Ping(dst); err != nil {
			t.Errorf("good peer %s unreachable next to a bad one: %v", dst, err)
		}
	}
	// Retried (a resync), it fails again, and only it.
	rep, err = n1.conv.Resync()
	if failed, rest := peers.SplitErrors(err); rest != nil || len(failed) != 2 || len(rep.Failed) != 2 {
		t.Errorf("Resync: peers %v rest %v failed %v", failed, rest, rep.Failed)
	}
	rep, err = n1.conv.Apply(l.PeersOf(n1.Node, vx))
	if err != nil || len(rep.Failed) != 0 {
		t.Fatalf("without the bad peers: err %v, failed %v", err, rep.Failed)
	}
}
