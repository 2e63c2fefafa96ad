package nodeinfo

import (
	"encoding/json"
	"sort"
	"strconv"

	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/offload/offloadtypes"
)

// EgressView is one route shape this node uses towards some of its peers:
// what its kernel does with packets to their node IPs (offload.EgressTo).
// Peers behind the same gateway share one, which keeps the annotation
// small on large clusters.
type EgressView struct {
	Device string `json:"device"`
	Kind   string `json:"kind,omitempty"`
	// Gateway is the next hop ("" on-link or through an L3 device).
	Gateway string `json:"gateway,omitempty"`
	// Source is the address this node sends from towards those peers.
	Source string `json:"source,omitempty"`
	OnLink bool   `json:"onLink"`
	// MTU is the smallest MTU on the way (hops' devices, route metric).
	MTU int `json:"mtu"`
	// Verdict is the offload walk below the device, without its reasons.
	Verdict offloadtypes.Verdict `json:"verdict"`
}

// ViewOf is the published form of e.
func ViewOf(e *offloadtypes.Egress) EgressView {
	v := EgressView{Device: e.Device, Kind: e.Kind, OnLink: e.AllOnLink(), MTU: e.MTU, Verdict: e.Verdict}
	v.Verdict.Reasons = nil
	if e.Gateway != nil {
		v.Gateway = e.Gateway.String()
	}
	if e.Source != nil {
		v.Source = e.Source.String()
	}
	return v
}

// Decision is the view as the decision reads it.
func (v EgressView) Decision() decision.View {
	return decision.View{Known: true, OnLink: v.OnLink, Egress: v.Device, EgressKind: v.Kind, Gateway: v.Gateway, Source: v.Source}
}

// PeerKey is the PeerEgress key of a peer node and family (4 or 6).
func PeerKey(peer string, family int) string { return peer + "/" + strconv.Itoa(family) }

// SetPeerView records v as this node's view of peer for family, sharing an
// identical entry when there is one.
func (f *Facts) SetPeerView(peer string, family int, v EgressView) {
	if f.PeerEgress == nil {
		f.PeerEgress = map[string]int{}
	}
	for i, e := range f.Egresses {
		if sameView(e, v) {
			f.PeerEgress[PeerKey(peer, family)] = i
			return
		}
	}
	f.Egresses = append(f.Egresses, v)
	f.PeerEgress[PeerKey(peer, family)] = len(f.Egresses) - 1
}

// PeerView is this node's published view of peer for family; false when
// it published none (an older agent, or not computed yet).
func (f Facts) PeerView(peer string, family int) (EgressView, bool) {
	i, ok := f.PeerEgress[PeerKey(peer, family)]
	if !ok || i < 0 || i >= len(f.Egresses) {
		return EgressView{}, false
	}
	return f.Egresses[i], true
}

// SortViews orders Egresses canonically (and remaps PeerEgress), so that
// the published document does not change with the order peers were seen.
func (f *Facts) SortViews() {
	type ent struct {
		key string
		old int
	}
	ents := make([]ent, len(f.Egresses))
	for i, e := range f.Egresses {
		b, _ := json.Marshal(e)
		ents[i] = ent{string(b), i}
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].key < ents[j].key })
	remap := make([]int, len(ents))
	sorted := make([]EgressView, len(ents))
	for i, e := range ents {
		remap[e.old] = i
		sorted[i] = f.Egresses[e.old]
	}
	for k, i := range f.PeerEgress {
		f.PeerEgress[k] = remap[i]
	}
	f.Egresses = sorted
}

func sameView(a, b EgressView) bool {
	return a.Device == b.Device && a.Kind == b.Kind && a.Gateway == b.Gateway && a.Source == b.Source && a.OnLink == b.OnLink &&
		a.MTU == b.MTU && a.Verdict.TunnelSegmentation == b.Verdict.TunnelSegmentation &&
		a.Verdict.TunnelSegmentationCsum == b.Verdict.TunnelSegmentationCsum && a.Verdict.UnderlayTunnel == b.Verdict.UnderlayTunnel &&
		a.Verdict.UnderlayTunnelDevice == b.Verdict.UnderlayTunnelDevice && a.Verdict.Blocker == b.Verdict.Blocker
}
