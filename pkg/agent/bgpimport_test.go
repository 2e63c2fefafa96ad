package agent

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/offload-overlay/offload-overlay/pkg/bgp"
	"github.com/offload-overlay/offload-overlay/pkg/bgp/bgptypes"
	"github.com/offload-overlay/offload-overlay/pkg/state/peerstate"
)

// Learnt routes are sorted by the import rules built from this sync's
// admitted peers (their node IPs and pod CIDRs, ours) and recorded in the
// peers file's bgp section, accepted and rejected with the rule; a change
// of the split rewrites the file.
func TestLearntRoutesRecorded(t *testing.T) {
	ag, peers, v := peersAgent(t, 2)
	for i := range peers {
		peers[i].RV = "1" // keyed writes: only a changed key rewrites the file
	}
	mp, ma := netip.MustParsePrefix, netip.MustParseAddr
	ag.cfg.ClusterCIDRs = []netip.Prefix{mp("10.0.0.0/8"), mp("192.168.0.0/16")}
	ag.bgpStatus = bgp.Status{Enabled: true}
	router := ma("192.168.255.254")
	learnt := []bgptypes.Route{
		{Prefix: mp("10.70.0.0/24"), NextHop: ma("192.168.9.1"), Peer: router},
		{Prefix: mp("10.64.1.0/24"), NextHop: ma("192.168.9.1"), Peer: router},       // peer-0001's pod CIDR
		{Prefix: mp("10.63.0.0/25"), NextHop: ma("192.168.9.1"), Peer: router},       // ours
		{Prefix: mp("192.168.0.0/30"), NextHop: ma("192.168.9.1"), Peer: router},     // peer-0001's node IP
		{Prefix: mp("192.168.250.248/30"), NextHop: ma("192.168.9.1"), Peer: router}, // our node IP
		{Prefix: mp("172.16.0.0/24"), NextHop: ma("192.168.9.1"), Peer: router},      // outside the cluster
	}
	want := []string{"", "agent owns", "this node's pod CIDR", "covers node IP 192.168.0.2", "covers node IP 192.168.250.250", "outside the cluster"}
	ag.bgpLearnt.accepted, ag.bgpLearnt.rejected = importRules(ag.cfg.ClusterCIDRs, ag.local, peers).Filter(learnt)
	ag.writePeers(peers, nil, v.paths)
	f, err := peerstate.Read(ag.cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	if f.BGP == nil || len(f.BGP.Learnt) != 1 || f.BGP.Learnt[0] != learnt[0] || len(f.BGP.Rejected) != len(learnt)-1 {
		t.Fatalf("peers file bgp: %+v", f.BGP)
	}
	for i, rj := range f.BGP.Rejected {
		if rj.Route != learnt[i+1] || !strings.Contains(rj.Reason, want[i+1]) {
			t.Errorf("rejected %d: %+v, want %s for %q", i, rj, learnt[i+1].Prefix, want[i+1])
		}
	}

	ag.bgpLearnt.accepted, ag.bgpLearnt.rejected = importRules(ag.cfg.ClusterCIDRs, ag.local, peers).Filter(learnt[:1])
	ag.bgpLearnt.accepted = append(ag.bgpLearnt.accepted, bgptypes.Route{Prefix: mp("10.71.0.0/24"), NextHop: ma("192.168.9.1"), Peer: router})
	ag.writePeers(peers, nil, v.paths)
	if f, _ = peerstate.Read(ag.cfg.StateDir); len(f.BGP.Learnt) != 2 || len(f.BGP.Rejected) != 0 {
		t.Errorf("after the router's routes changed, the peers file says %+v", f.BGP)
	}
}

// Learnt routes are recorded in one order whatever order gobgp lists them in.
func TestSortRoutes(t *testing.T) {
	mp, ma := netip.MustParsePrefix, netip.MustParseAddr
	want := []bgptypes.Route{
		{Prefix: mp("10.0.0.0/16"), NextHop: ma("192.168.1.1"), Peer: ma("192.168.1.1")},
		{Prefix: mp("10.0.0.0/24"), NextHop: ma("192.168.1.1"), Peer: ma("192.168.1.1")},
		{Prefix: mp("10.0.0.0/24"), NextHop: ma("192.168.2.1"), Peer: ma("192.168.2.1")},
		{Prefix: mp("10.0.1.0/24"), NextHop: ma("192.168.1.1"), Peer: ma("192.168.1.1")},
		{Prefix: mp("fd00::/64"), NextHop: ma("fd00:1::1"), Peer: ma("192.168.1.1")},
	}
	for _, perm := range [][]int{{4, 3, 2, 1, 0}, {2, 0, 4, 1, 3}, {1, 2, 3, 4, 0}} {
		got := make([]bgptypes.Route, len(want))
		for i, j := range perm {
			got[i] = want[j]
		}
		sortRoutes(got)
		if !slices.Equal(got, want) {
			t.Errorf("from order %v: %v", perm, got)
		}
	}
}
