package agent

import (
	"cmp"
	"context"
	"net/netip"
	"slices"
	"time"

	"github.com/offload-overlay/offload-overlay/pkg/admission"
	"github.com/offload-overlay/offload-overlay/pkg/bgp/bgptypes"
	"github.com/offload-overlay/offload-overlay/pkg/datapath"
)

// Learnt routes (--bgp-import): the speaker hands over what its peers sent
// and the agent sorts it with bgptypes.ImportRules, the one home of the
// safety rule. The verdict goes into the peers file's bgp section, so
// `doctor` shows which routes were accepted and why the others were
// refused. The agent programs none of them: every admitted peer's pod CIDR
// already has the agent's own route, which a learnt one may never cover.

// The speaker calls onBGPLearnt when a peer sends routes, so the record
// follows the router within learntSettle rather than at the next resync.

// learntRoutes is the import rules' split of the learnt routes.
type learntRoutes struct {
	accepted []bgptypes.Route
	rejected []bgptypes.Rejected
}

// sortLearnt reads the speaker's learnt routes (none without a speaker or
// without --bgp-import) and splits them by importRules. A failed read
// keeps the previous split: the speaker answers again at the next sync.
func (a *Agent) sortLearnt(ctx context.Context, peers []admission.Peer) {
	routes, err := a.bgp.Learnt(ctx)
	if err != nil {
		a.log.Warn("reading routes learnt over BGP", "err", err)
		return
	}
	sortRoutes(routes)
	a.bgpLearnt.accepted, a.bgpLearnt.rejected = importRules(a.cfg.ClusterCIDRs, a.local, peers).Filter(routes)
}

// learntSettle lets a burst of UPDATEs (a router's full table after a
// session comes up) end before the sync that sorts them.
const learntSettle = 500 * time.Millisecond

// onBGPLearnt runs on gobgp's goroutine when a peer sent routes (import
// on): sort them at a sync shortly after.
func (a *Agent) onBGPLearnt() {
	if a.queue != nil {
		a.queue.AddAfter(keySync, learntSettle)
	}
}

// importRules are the rules at this sync: inside the cluster CIDRs, never
// this node's pod CIDRs, never over a node IP (ours or an admitted peer's),
// never over an admitted peer's pod CIDR (the agent routes those itself).
func importRules(cluster []netip.Prefix, local datapath.LocalNode, peers []admission.Peer) bgptypes.ImportRules {
	r := bgptypes.ImportRules{ClusterCIDRs: cluster, OwnPodCIDRs: local.PodCIDRs, NodeIPs: append([]netip.Addr(nil), local.IPs...)}
	var owned []netip.Prefix
	for _, p := range peers {
		for _, ip := range p.IPs {
			if ip.IsValid() {
				r.NodeIPs = append(r.NodeIPs, ip)
			}
		}
		owned = append(owned, p.PodCIDRs...)
	}
	r.Owned = func(q netip.Prefix) bool {
		for _, o := range owned {
			if o.Overlaps(q) {
				return true
			}
		}
		return false
	}
	return r
}

// sortRoutes orders learnt routes by prefix, then peer and next hop: gobgp
// lists its table in no fixed order, and the peers file must change only
// when the routes do.
func sortRoutes(routes []bgptypes.Route) {
	slices.SortFunc(routes, func(x, y bgptypes.Route) int {
		if c := x.Prefix.Addr().Compare(y.Prefix.Addr()); c != 0 {
			return c
		}
		if c := cmp.Compare(x.Prefix.Bits(), y.Prefix.Bits()); c != 0 {
			return c
		}
		if c := x.Peer.Compare(y.Peer); c != 0 {
			return c
		}
		return x.NextHop.Compare(y.NextHop)
	})
}
